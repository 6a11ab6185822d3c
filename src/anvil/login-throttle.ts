// One brake on password guessing for SMTP AUTH, POP3 and the console (Dovecot's auth penalty is
// the model). Failures are counted per source address and per (user, source), across
// connections: each failure reply waits longer than the one before from that source, an outside
// source's attempts are checked one at a time (20 parallel connections guess no faster than
// one), and a lockout hits the guessing source — the pair (user, source) after
// login.pairFailures, the whole outside source after login.sourceFailures — never the user
// everywhere: the owner logs in from their usual address while a stranger guesses. A trusted
// source (the office behind one NAT address) is never locked as a whole, only per user.
// Each failure is an auth.failed event; the alert engine turns a burst into an alert and, with
// alerts.autoBan, the source into the firewall's ban set. Bounded: the oldest records go first.

export interface LoginLimits {
  /** Delay of the first failure reply from a source; doubled for each further one... */
  readonly firstDelayMs: number;
  /** ...up to this. */
  readonly maxDelayMs: number;
  /** Failures of one user from one source before that pair is locked. */
  readonly pairFailures: number;
  /** Failures from one outside source (any user) before the source is locked. */
  readonly sourceFailures: number;
  /** Failures older than this are forgotten. */
  readonly windowMs: number;
  /** How long a lockout lasts. */
  readonly lockMs: number;
}

export interface LoginSource {
  /** Client address, or a console's name ("console:stdio"). */
  readonly address: string;
  readonly trusted: boolean;
}

interface Tally {
  failures: number;
  since: number;
  lockedUntil: number;
}

export type Lockout = 'source' | 'pair';

export class LoginThrottle {
  readonly #tallies = new Map<string, Tally>();
  readonly #turns = new Map<string, Promise<unknown>>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(maxRecords = 10_000, now: () => number = Date.now) {
    this.#max = maxRecords;
    this.#now = now;
  }

  /** What is locked for this attempt right now, if anything. */
  lockedOut(source: LoginSource, user: string): Lockout | null {
    const now = this.#now();
    if (!source.trusted && (this.#tallies.get(sourceKey(source))?.lockedUntil ?? 0) > now) return 'source';
    if ((this.#tallies.get(pairKey(source, user))?.lockedUntil ?? 0) > now) return 'pair';
    return null;
  }

  /** Milliseconds until the lockout of this attempt ends (0 when none). */
  lockedFor(source: LoginSource, user: string): number {
    const now = this.#now();
    const until = Math.max(
      source.trusted ? 0 : (this.#tallies.get(sourceKey(source))?.lockedUntil ?? 0),
      this.#tallies.get(pairKey(source, user))?.lockedUntil ?? 0,
    );
    return Math.max(0, until - now);
  }

  /** Count a failure; returns how long to wait before answering it, and what it locked. */
  fail(source: LoginSource, user: string, limits: LoginLimits): { delayMs: number; locked: Lockout | null } {
    const s = this.#count(sourceKey(source), source.trusted ? Infinity : limits.sourceFailures, limits);
    const p = this.#count(pairKey(source, user), limits.pairFailures, limits);
    // A trusted source's delay grows per user, so one confused PC does not slow the whole office.
    const n = source.trusted ? p.failures : s.failures;
    const delayMs = Math.min(limits.firstDelayMs * 2 ** Math.min(n - 1, 30), limits.maxDelayMs);
    const locked = !source.trusted && s.justLocked ? 'source' : p.justLocked ? 'pair' : null;
    return { delayMs, locked };
  }

  /** A good login forgets that pair's failures (not the source's: one valid account must not reset guessing). */
  succeed(source: LoginSource, user: string): void {
    this.#tallies.delete(pairKey(source, user));
  }

  /**
   * Run one login attempt from an outside source after the previous one from it has finished,
   * failure delay included: parallel connections then guess no faster than one.
   */
  async inTurn<T>(source: LoginSource, attempt: () => Promise<T>): Promise<T> {
    if (source.trusted) return attempt();
    const key = sourceKey(source);
    const before = this.#turns.get(key) ?? Promise.resolve();
    const mine = before.then(attempt, attempt);
    const settled = mine.then(() => undefined, () => undefined);
    this.#turns.set(key, settled);
    settled.then(() => {
      if (this.#turns.get(key) === settled) this.#turns.delete(key);
    });
    return mine;
  }

  get size(): number {
    return this.#tallies.size;
  }

  #count(key: string, threshold: number, limits: LoginLimits): { failures: number; justLocked: boolean } {
    const now = this.#now();
    let t = this.#tallies.get(key);
    if (!t || (t.lockedUntil <= now && now - t.since >= limits.windowMs)) t = { failures: 0, since: now, lockedUntil: 0 };
    t.failures += 1;
    const justLocked = t.failures >= threshold && t.lockedUntil <= now;
    if (t.failures >= threshold) t.lockedUntil = now + limits.lockMs;
    // Re-inserted so that Map order is least recently failed first: the eviction order.
    this.#tallies.delete(key);
    if (this.#tallies.size >= this.#max) {
      const oldest = this.#tallies.keys().next().value;
      if (oldest !== undefined) this.#tallies.delete(oldest);
    }
    this.#tallies.set(key, t);
    return { failures: t.failures, justLocked };
  }
}

const sourceKey = (s: LoginSource) => `s:${s.address}`;
const pairKey = (s: LoginSource, user: string) => `p:${user.toLowerCase()}\0${s.address}`;
