// POP-before-SMTP (docs/REQUIREMENTS.md §1 ②): a successful POP3 login from an address lets that address relay
// for a while. POP3 grants, the relay policy asks. Held in memory only: a restart ends every lease,
// which errs on the safe side.
import { normalizeIp } from '../net/ip.ts';

export class Leases {
  readonly #until = new Map<string, number>();
  readonly #max: number;

  constructor(maxEntries = 10000) {
    this.#max = maxEntries;
  }

  grant(address: string, seconds: number, now = Date.now()): void {
    if (seconds <= 0) return;
    const ip = normalizeIp(address);
    this.#until.delete(ip);
    // Bounded: the oldest lease goes first when full.
    if (this.#until.size >= this.#max) {
      const oldest = this.#until.keys().next().value;
      if (oldest !== undefined) this.#until.delete(oldest);
    }
    this.#until.set(ip, now + seconds * 1000);
  }

  has(address: string, now = Date.now()): boolean {
    const ip = normalizeIp(address);
    const until = this.#until.get(ip);
    if (until === undefined) return false;
    if (until <= now) {
      this.#until.delete(ip);
      return false;
    }
    return true;
  }
}
