// Rate limit for console logins, on the login brake SMTP AUTH and POP3 share
// (src/anvil/login-throttle.ts): each wrong password waits longer (1 s, 2 s, 4 s … 30 s), and
// after console.maxFailures the admin login on this console is refused for console.lockoutSeconds.
// The console's name is the source: a lockout hits whoever stands at that console.
import { LoginThrottle, type LoginLimits, type LoginSource } from '../../src/anvil/login-throttle.ts';

export interface LoginGuardLimits {
  maxFailures(): number;
  lockoutSeconds(): number;
}

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
const USER = 'admin';

export class LoginGuard {
  readonly #limits: LoginGuardLimits;
  readonly #throttle: LoginThrottle;
  readonly #source: LoginSource;

  constructor(limits: LoginGuardLimits, now: () => number = Date.now, throttle?: LoginThrottle, consoleName = 'console') {
    this.#limits = limits;
    this.#throttle = throttle ?? new LoginThrottle(10_000, now);
    // "trusted": the console is never locked for every user, only for its admin login.
    this.#source = { address: `console:${consoleName}`, trusted: true };
  }

  #rules(): LoginLimits {
    const lockMs = this.#limits.lockoutSeconds() * 1000;
    return { firstDelayMs: FIRST_DELAY_MS, maxDelayMs: MAX_DELAY_MS, pairFailures: this.#limits.maxFailures(), sourceFailures: Infinity, windowMs: lockMs, lockMs };
  }

  /** Milliseconds the console stays locked; 0 when a login may be tried. */
  lockedFor(): number {
    return this.#throttle.lockedFor(this.#source, USER);
  }

  /** Record a wrong password; returns how long to wait before the next try. */
  failure(): { delayMs: number; locked: boolean } {
    const { delayMs, locked } = this.#throttle.fail(this.#source, USER, this.#rules());
    return locked ? { delayMs: 0, locked: true } : { delayMs, locked: false };
  }

  success(): void {
    this.#throttle.succeed(this.#source, USER);
  }
}
