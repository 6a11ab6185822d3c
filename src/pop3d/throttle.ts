// Password-guessing brakes: a delay before each failure reply that doubles with the client's
// failures, and a lockout of a user name or a client address after too many failures in a window.
// Unknown names are counted exactly like real ones, so a lockout tells a guesser nothing.
// Bounded: when full, the oldest record goes first.

export interface ThrottleLimits {
  /** Delay after the first failure; doubled for each further one, capped at 16 times. */
  readonly delayMs: number;
  readonly userFailures: number;
  readonly clientFailures: number;
  readonly windowMs: number;
}

interface Record {
  failures: number;
  /** When the counting window started. */
  since: number;
  /** Locked until this time (0: not locked). */
  lockedUntil: number;
}

const MAX_DOUBLINGS = 4;

export class AuthThrottle {
  readonly #records = new Map<string, Record>();
  readonly #maxEntries: number;

  constructor(maxEntries = 10000) {
    this.#maxEntries = maxEntries;
  }

  /** Whether logins for this user or from this client are refused right now. */
  isLocked(client: string, user: string, now = Date.now()): boolean {
    return this.#lockedUntil(`c:${client}`, now) > now || this.#lockedUntil(`u:${user.toLowerCase()}`, now) > now;
  }

  /** Record a failure; returns the milliseconds to wait before replying. */
  fail(client: string, user: string, limits: ThrottleLimits, now = Date.now()): number {
    const c = this.#count(`c:${client}`, limits.clientFailures, limits.windowMs, now);
    this.#count(`u:${user.toLowerCase()}`, limits.userFailures, limits.windowMs, now);
    return limits.delayMs * 2 ** Math.min(c - 1, MAX_DOUBLINGS);
  }

  /** A good login clears the user's count (not the client's: one valid account must not reset guessing from that address). */
  succeed(user: string): void {
    this.#records.delete(`u:${user.toLowerCase()}`);
  }

  get size(): number {
    return this.#records.size;
  }

  #lockedUntil(key: string, now: number): number {
    const r = this.#records.get(key);
    return r && r.lockedUntil > now ? r.lockedUntil : 0;
  }

  #count(key: string, maxFailures: number, windowMs: number, now: number): number {
    let r = this.#records.get(key);
    if (!r || (r.lockedUntil <= now && now - r.since >= windowMs)) r = { failures: 0, since: now, lockedUntil: 0 };
    r.failures += 1;
    if (r.failures >= maxFailures) r.lockedUntil = now + windowMs;
    // Re-insert so Map order is least-recently-failed first, the eviction order.
    this.#records.delete(key);
    if (this.#records.size >= this.#maxEntries) {
      const oldest = this.#records.keys().next().value;
      if (oldest !== undefined) this.#records.delete(oldest);
    }
    this.#records.set(key, r);
    return r.failures;
  }
}
