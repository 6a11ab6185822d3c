// Bounds on open outbound connections: a total and one per destination. Waiters queue in order;
// the queue itself is bounded by the queue manager's own concurrency (one waiter per entry).
export class ConnectionLimiter {
  readonly #total: () => number;
  readonly #perKey: () => number;
  #open = 0;
  readonly #byKey = new Map<string, number>();
  readonly #waiters: Array<{ key: string; go: () => void }> = [];

  constructor(total: () => number, perKey: () => number) {
    this.#total = total;
    this.#perKey = perKey;
  }

  /** Wait for a slot towards `key`; the returned function gives it back (extra calls do nothing). */
  async acquire(key: string): Promise<() => void> {
    if (this.#free(key)) this.#take(key);
    // A woken waiter has its slot taken for it in #wake, so nobody can overbook in between.
    else await new Promise<void>((go) => this.#waiters.push({ key, go }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open -= 1;
      const n = (this.#byKey.get(key) ?? 1) - 1;
      if (n === 0) this.#byKey.delete(key);
      else this.#byKey.set(key, n);
      this.#wake();
    };
  }

  get open(): number {
    return this.#open;
  }

  #free(key: string): boolean {
    return this.#open < this.#total() && (this.#byKey.get(key) ?? 0) < this.#perKey();
  }

  #take(key: string): void {
    this.#open += 1;
    this.#byKey.set(key, (this.#byKey.get(key) ?? 0) + 1);
  }

  #wake(): void {
    for (let i = 0; i < this.#waiters.length; ) {
      const w = this.#waiters[i]!;
      if (this.#free(w.key)) {
        this.#waiters.splice(i, 1);
        this.#take(w.key);
        w.go();
      } else i++;
    }
  }
}
