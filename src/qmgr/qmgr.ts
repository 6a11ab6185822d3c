// The queue manager (Postfix's qmgr): picks due queue entries, hands each recipient group to the
// delivery agent for its route, records the outcome durably, retries temporary failures on a
// backoff schedule, and drops the entry when every recipient is done.
import { unlink } from 'node:fs/promises';
import type { Context, Service } from '../context.ts';
import type { Spool } from '../spool/spool.ts';
import { outcomeOf, type QueueEntry } from '../spool/entry.ts';
import type { Route } from '../mail/types.ts';
import type { Deliverer, DeliveryResult } from './deliverer.ts';
import { queuedIds, flushRequestPath } from './files.ts';

export type RouteKind = Route['kind'];

/** How often the queue folder is read for changes made by another process (the CLI). */
const SCAN_MS = 5000;

/** Called when recipients failed for good (5xx or too old): the bounce (DSN) station hooks here. */
export type FailureHook = (entry: QueueEntry, failedIndexes: number[]) => Promise<void>;

/** Called once per entry when its recipients have waited `queue.delayWarningHours`: the delay notice. */
export type DelayHook = (entry: QueueEntry, pendingIndexes: number[]) => Promise<void>;

/** Thrown by the admin operations; the text is what the admin reads. */
export class QueueError extends Error {
  override readonly name = 'QueueError';
}

export class Qmgr implements Service {
  readonly name = 'qmgr';
  readonly #ctx: Context;
  readonly #spool: Spool;
  readonly #deliverers: Partial<Record<RouteKind, Deliverer>>;
  readonly #due = new Map<string, number>();
  readonly #inFlight = new Set<string>();
  readonly #onFailure: FailureHook[] = [];
  readonly #onDelay: DelayHook[] = [];
  /** Entries flushed by the admin: their recipients' own retry times are ignored once. */
  readonly #flushed = new Set<string>();
  /** Entries just committed by this process and not yet tried (see Attempt.first). */
  readonly #fresh = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #scanTimer: NodeJS.Timeout | undefined;
  #stopped = true;
  #idle: Array<() => void> = [];

  constructor(ctx: Context, spool: Spool, deliverers: Partial<Record<RouteKind, Deliverer>>) {
    this.#ctx = ctx;
    this.#spool = spool;
    this.#deliverers = deliverers;
  }

  onFailure(hook: FailureHook): void {
    this.#onFailure.push(hook);
  }

  onDelay(hook: DelayHook): void {
    this.#onDelay.push(hook);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    const ids = await this.#spool.recover();
    const now = Date.now();
    for (const id of ids) this.#due.set(id, now);
    this.#ctx.log.log('info', 'queue recovered', { entries: ids.length });
    this.#kick();
    // The CLI runs in another process: it releases, deletes and asks for a flush through the files.
    this.#scanTimer = setInterval(() => void this.#rescan().catch(() => undefined), SCAN_MS);
    this.#scanTimer.unref();
  }

  /** Pick up entries this process does not know (released or injected elsewhere) and flush requests. */
  async #rescan(): Promise<void> {
    if (this.#stopped) return;
    const flush = await unlink(flushRequestPath(this.#spool)).then(() => true, () => false);
    for (const id of await queuedIds(this.#spool)) if (!this.#due.has(id) && !this.#inFlight.has(id)) this.#due.set(id, Date.now());
    if (flush) this.flush();
    else this.#kick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#scanTimer);
    await this.whenIdle();
  }

  /** An entry to deliver at `when`; `fresh`: this process has just committed it (from SMTP). */
  enqueue(id: string, when = Date.now(), fresh = false): void {
    // Already being delivered: the rescan can find a committed entry's files before the commit's
    // own enqueue arrives. Two attempts at once would write the same Maildir file.
    if (this.#inFlight.has(id)) return;
    if (fresh) this.#fresh.add(id);
    this.#due.set(id, when);
    this.#kick();
  }

  /** Try every entry now, or the one named (yubin queue flush [ID]); a mis-send hold still holds. */
  flush(id?: string): void {
    for (const key of id === undefined ? [...this.#due.keys(), ...this.#inFlight] : [id]) {
      if (this.#due.has(key)) this.#due.set(key, 0);
      else if (!this.#inFlight.has(key)) continue;
      this.#flushed.add(key); // in flight: retried as soon as this attempt is recorded
    }
    this.#kick();
  }

  /**
   * Take an entry out of the schedule so that the caller may change or remove its files (hold,
   * delete, cancel). Refused while it is being delivered: that attempt's outcome would overwrite.
   */
  withdraw(id: string): void {
    if (this.#inFlight.has(id)) throw new QueueError(`${id} is being delivered right now; try again in a moment`);
    this.#due.delete(id);
    this.#flushed.delete(id);
    this.#fresh.delete(id);
  }

  depth(): number {
    return this.#due.size + this.#inFlight.size;
  }

  /** Resolves when nothing is being delivered (tests, shutdown). */
  whenIdle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #kick(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const now = Date.now();
    const max = this.#ctx.store.get('queue.concurrency');
    let next = Infinity;
    for (const [id, due] of this.#due) {
      if (this.#inFlight.size >= max) break;
      if (due <= now) {
        this.#due.delete(id);
        if (this.#inFlight.has(id)) continue;
        this.#inFlight.add(id);
        void this.#process(id).finally(() => {
          this.#inFlight.delete(id);
          if (this.#inFlight.size === 0) for (const r of this.#idle.splice(0)) r();
          this.#kick();
        });
      } else if (due < next) next = due;
    }
    if (next !== Infinity && this.#inFlight.size < max) {
      this.#timer = setTimeout(() => this.#kick(), Math.min(next - now, 2 ** 31 - 1));
      this.#timer.unref();
    }
  }

  async #process(id: string): Promise<void> {
    let entry: QueueEntry;
    try {
      entry = await this.#spool.load(id);
    } catch (err) {
      // Deleted or cancelled by the admin meanwhile: nothing to do.
      this.#fresh.delete(id);
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.#ctx.log.log('error', 'queue entry unreadable; left in place', { queueId: id, error: String(err) });
      return;
    }
    try {
      await this.#deliverEntry(entry);
    } catch (err) {
      // An agent crashed on this entry: retry later rather than lose it.
      this.#ctx.log.log('error', 'delivery attempt failed', { queueId: id, error: String(err) });
      this.#due.set(id, Date.now() + 60_000);
    }
  }

  async #deliverEntry(entry: QueueEntry): Promise<void> {
    const now = Date.now();
    const forced = this.#flushed.delete(entry.id);
    if (entry.held) return; // released by the admin later (enqueue again)
    if (entry.holdUntil !== undefined && entry.holdUntil > now) {
      this.#due.set(entry.id, entry.holdUntil);
      return;
    }
    const attempt = { first: this.#fresh.delete(entry.id) };
    const groups = new Map<string, number[]>();
    entry.rcpts.forEach((r, i) => {
      if (r.status !== 'pending' || (r.nextAttempt > now && !forced)) return;
      const key = r.route.kind === 'remote' ? `remote:${r.route.domain}` : r.route.kind;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    const failed: number[] = [];
    let left = groups.size;
    for (const indexes of groups.values()) {
      left -= 1;
      const kind = entry.rcpts[indexes[0]!]!.route.kind;
      const agent = this.#deliverers[kind];
      const results: DeliveryResult[] = agent
        ? await agent.deliver(entry, indexes, attempt)
        : indexes.map(() => ({ status: 'deferred' as const, reply: `451 4.3.0 no delivery agent for ${kind} routes` }));
      const done = Date.now();
      results.forEach((res, k) => {
        const i = indexes[k]!;
        const r = entry.rcpts[i]!;
        r.attempts += 1;
        r.lastReply = res.reply;
        // The delivery line of this attempt (src/mail/outcome.ts): sent, bounced or deferred.
        const line = { ...outcomeOf(entry, r, done), ...(res.relay ? { relay: res.relay } : {}) };
        if (res.status === 'delivered') {
          r.status = 'delivered';
          this.#ctx.bus.emit('rcpt.outcome', { ...line, status: 'sent', reply: res.reply });
        } else if (res.status === 'failed' || this.#tooOld(entry, done)) {
          r.status = 'failed';
          if (res.status !== 'failed') r.lastReply = `${res.reply}; gave up after ${this.#ctx.store.get('queue.maxAgeHours')} hours in the queue`;
          failed.push(i);
          this.#ctx.bus.emit('delivery.failed', { queueId: entry.id, rcpt: r.address, code: res.reply.slice(0, 3), text: r.lastReply, permanent: true });
          this.#ctx.bus.emit('rcpt.outcome', { ...line, status: 'bounced', reply: r.lastReply });
        } else {
          r.nextAttempt = done + this.#backoff(r.attempts);
          this.#ctx.bus.emit('delivery.deferred', { queueId: entry.id, rcpt: r.address, reply: res.reply, nextAttempt: r.nextAttempt });
          this.#ctx.bus.emit('rcpt.outcome', { ...line, status: 'deferred', reply: res.reply, until: r.nextAttempt });
        }
      });
      // Every recipient delivered by the last group: the removal below records that (one durable
      // step instead of a rewrite and then a removal).
      if (left === 0 && failed.length === 0 && entry.rcpts.every((r) => r.status === 'delivered')) break;
      // Record each group's outcome at once: a crash after a server's 250 and before this write is
      // the only way a recipient gets the message twice (RFC 5321 §6.1 accepts that; we keep it short).
      if (!(await this.#record(entry))) return;
    }
    if (failed.length > 0) for (const hook of this.#onFailure) await hook(entry, failed);
    const pendingIndexes = entry.rcpts.flatMap((r, i) => (r.status === 'pending' ? [i] : []));
    if (pendingIndexes.length === 0) {
      await this.#spool.remove(entry.id);
      return;
    }
    const warnAfter = this.#ctx.store.get('queue.delayWarningHours') * 3600_000;
    if (warnAfter > 0 && entry.delayWarned !== true && Date.now() - entry.received >= warnAfter) {
      for (const hook of this.#onDelay) await hook(entry, pendingIndexes);
      entry.delayWarned = true;
    }
    if (!(await this.#record(entry)) || entry.held) return;
    const next = this.#flushed.has(entry.id) ? 0 : Math.min(...pendingIndexes.map((i) => entry.rcpts[i]!.nextAttempt));
    this.#due.set(entry.id, next);
  }

  /**
   * Write the entry's new state, keeping what the admin did meanwhile from another process: a
   * deleted entry stays deleted (false), a held one stays held.
   */
  async #record(entry: QueueEntry): Promise<boolean> {
    const onDisk = await this.#spool.load(entry.id).catch(() => null);
    if (!onDisk) return false;
    if (onDisk.held) entry.held = true;
    await this.#spool.save(entry);
    return true;
  }

  #tooOld(entry: QueueEntry, now: number): boolean {
    return now - entry.received > this.#ctx.store.get('queue.maxAgeHours') * 3600_000;
  }

  #backoff(attempts: number): number {
    const schedule = this.#ctx.store.get('queue.retryMinutes');
    const minutes = schedule[Math.min(attempts - 1, schedule.length - 1)] ?? 60;
    return minutes * 60_000;
  }
}
