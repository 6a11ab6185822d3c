// Connection counting over every SMTP listener: in total and per client address.
import { normalizeIp } from '../policy/ip.ts';

export class ConnectionLimits {
  #total = 0;
  readonly #perClient = new Map<string, number>();
  readonly #sessions = new Map<string, string>();

  /** Returns a refusal text, or null when the connection may proceed (and is then counted). */
  admit(sessionId: string, address: string, maxTotal: number, maxPerClient: number): string | null {
    const ip = normalizeIp(address);
    if (this.#total >= maxTotal) return '4.7.0 Too many connections, try again later';
    const mine = this.#perClient.get(ip) ?? 0;
    if (mine >= maxPerClient) return `4.7.0 Too many connections from ${ip}, try again later`;
    this.#total += 1;
    this.#perClient.set(ip, mine + 1);
    this.#sessions.set(sessionId, ip);
    return null;
  }

  release(sessionId: string): void {
    const ip = this.#sessions.get(sessionId);
    if (ip === undefined) return;
    this.#sessions.delete(sessionId);
    this.#total -= 1;
    const n = (this.#perClient.get(ip) ?? 1) - 1;
    if (n <= 0) this.#perClient.delete(ip);
    else this.#perClient.set(ip, n);
  }
}
