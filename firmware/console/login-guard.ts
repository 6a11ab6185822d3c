// Rate limit for console logins: each wrong password waits longer (1 s, 2 s, 4 s … 30 s), and
// after console.maxFailures in a row the console refuses every login for console.lockoutSeconds.

export interface LoginGuardLimits {
  maxFailures(): number;
  lockoutSeconds(): number;
}

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

export class LoginGuard {
  readonly #limits: LoginGuardLimits;
  readonly #now: () => number;
  #failures = 0;
  #lockedUntil = 0;

  constructor(limits: LoginGuardLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Milliseconds the console stays locked; 0 when a login may be tried. */
  lockedFor(): number {
    return Math.max(0, this.#lockedUntil - this.#now());
  }

  /** Record a wrong password; returns how long to wait before the next try. */
  failure(): { delayMs: number; locked: boolean } {
    this.#failures++;
    if (this.#failures >= this.#limits.maxFailures()) {
      this.#failures = 0;
      this.#lockedUntil = this.#now() + this.#limits.lockoutSeconds() * 1000;
      return { delayMs: 0, locked: true };
    }
    return { delayMs: Math.min(FIRST_DELAY_MS * 2 ** (this.#failures - 1), MAX_DELAY_MS), locked: false };
  }

  success(): void {
    this.#failures = 0;
  }
}
