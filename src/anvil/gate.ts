// Fair connection limits for the listeners (Postfix's anvil and stress mode, Dovecot's "kill the
// oldest unauthenticated connection"). One gate per service (SMTP over its three listeners, POP3
// over its two). Strangers — clients outside trustedNetworks — share what the reserve leaves, each
// address and each network (/24, /64) with a cap of its own; the reserve is for trusted networks
// only, so strangers can never fill the board. When the strangers' share is full, a newcomer from
// a network that holds less than the busiest one takes the place of that network's oldest idle,
// unauthenticated session: a flood of idle sockets from a few networks cannot lock out the rest,
// an authenticated user included. Under pressure idle timeouts shrink (`stressed`).
import { isIPv4 } from 'node:net';
import { normalizeIp } from '../net/ip.ts';

export interface GateLimits {
  /** Sessions at once, trusted included. */
  readonly total: number;
  /** Of `total`, the places only trusted clients may take (at most half of it). */
  readonly reserved: number;
  /** Sessions at once from one stranger address. */
  readonly perClient: number;
  /** Sessions at once from one stranger network (/24 IPv4, /64 IPv6). */
  readonly perNetwork: number;
  /** Percent of the strangers' share in use from which the service is under stress. */
  readonly stressPercent: number;
}

export interface GateSession {
  readonly id: string;
  readonly ip: string;
  readonly network: string;
  readonly trusted: boolean;
  readonly since: number;
  /** Logged in (AUTH, USER/PASS, APOP): never preempted. */
  authenticated: boolean;
  /** A command or a message is in progress (DATA, a hook pending): never preempted. */
  busy: boolean;
  /** Told to go: "421 4.7.0 …" / "-ERR [SYS/TEMP] …", then closed. */
  readonly preempt: (reason: string) => void;
}

export type Admission =
  | { readonly ok: true }
  /** `cause` names the limit for the reply, e.g. "Too many connections from 192.0.2.0/24". */
  | { readonly ok: false; readonly cause: string };

/** The network a client counts against: its /24 (IPv4) or /64 (IPv6). */
export function networkOf(address: string): string {
  const ip = normalizeIp(address);
  if (isIPv4(ip)) return ip.split('.').slice(0, 3).join('.') + '.0/24';
  const groups = expandV6(ip);
  return groups ? groups.slice(0, 4).join(':') + '::/64' : ip;
}

function expandV6(ip: string): string[] | null {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const a = head ? head.split(':') : [];
  const b = tail !== undefined && tail !== '' ? tail.split(':') : [];
  if (b.some((g) => g.includes('.')) || a.some((g) => g.includes('.'))) return null;
  const fill = tail === undefined ? [] : Array<string>(8 - a.length - b.length).fill('0');
  const all = [...a, ...fill, ...b];
  return all.length === 8 ? all.map((g) => g.replace(/^0+(?=.)/, '')) : null;
}

export class ConnectionGate {
  readonly #sessions = new Map<string, GateSession>();
  readonly #perClient = new Map<string, number>();
  readonly #perNetwork = new Map<string, number>();
  #strangers = 0;

  /** Counts the session in (and preempts one to make room) or says which limit refuses it. */
  admit(session: Omit<GateSession, 'network' | 'since' | 'authenticated' | 'busy'>, limits: GateLimits, now = Date.now()): Admission {
    const ip = normalizeIp(session.ip);
    const network = networkOf(ip);
    if (this.#sessions.size >= limits.total) return { ok: false, cause: 'Too many connections' };
    if (!session.trusted) {
      if ((this.#perClient.get(ip) ?? 0) >= limits.perClient) return { ok: false, cause: `Too many connections from ${ip}` };
      const mine = this.#perNetwork.get(network) ?? 0;
      if (mine >= limits.perNetwork) return { ok: false, cause: `Too many connections from ${network}` };
      if (this.#strangers >= this.strangerShare(limits) && !this.#makeRoom(mine)) {
        return { ok: false, cause: 'Too many connections from outside networks' };
      }
    }
    const entry: GateSession = { ...session, ip, network, since: now, authenticated: false, busy: false };
    this.#sessions.set(entry.id, entry);
    if (!entry.trusted) {
      this.#strangers += 1;
      this.#perClient.set(ip, (this.#perClient.get(ip) ?? 0) + 1);
      this.#perNetwork.set(network, (this.#perNetwork.get(network) ?? 0) + 1);
    }
    return { ok: true };
  }

  /** The places strangers may hold at once: the reserve takes at most half of the total. */
  strangerShare(limits: GateLimits): number {
    return limits.total - Math.min(limits.reserved, Math.floor(limits.total / 2));
  }

  /** Whether idle timeouts should shrink now (Postfix's stress mode). */
  stressed(limits: GateLimits): boolean {
    const share = this.strangerShare(limits);
    return share > 0 && this.#strangers * 100 >= share * limits.stressPercent;
  }

  get(id: string): GateSession | undefined {
    return this.#sessions.get(id);
  }

  /** Sessions that a shorter timeout would apply to under stress: strangers not logged in. */
  *idleStrangers(): Iterable<GateSession> {
    for (const s of this.#sessions.values()) if (!s.trusted && !s.authenticated) yield s;
  }

  release(id: string): void {
    const s = this.#sessions.get(id);
    if (!s) return;
    this.#sessions.delete(id);
    if (s.trusted) return;
    this.#strangers -= 1;
    decrement(this.#perClient, s.ip);
    decrement(this.#perNetwork, s.network);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Preempt the oldest idle, unauthenticated stranger session of the busiest network, if that
   * network holds more than the newcomer's would after it came in. Its place is freed at once.
   */
  #makeRoom(newcomersNetwork: number): boolean {
    let busiest: string | null = null;
    let most = 0;
    for (const [network, n] of this.#perNetwork) if (n > most) [busiest, most] = [network, n];
    if (busiest === null || most <= newcomersNetwork + 1) return false;
    let victim: GateSession | undefined;
    for (const s of this.#sessions.values()) {
      if (s.network !== busiest || s.trusted || s.authenticated || s.busy) continue;
      if (!victim || s.since < victim.since) victim = s;
    }
    if (!victim) return false;
    this.release(victim.id);
    victim.preempt(`Too many connections from ${victim.network}; closing an idle one to make room`);
    return true;
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 1) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
