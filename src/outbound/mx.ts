// Where mail for a domain goes: MX records by preference (RFC 5321 §5.1), each exchanger's A/AAAA
// addresses, the implicit MX when the domain has none, and the null MX that says "no mail here"
// (RFC 7505). The answer is a plan of addresses to try in order, or a verdict with its SMTP reply.
import { isIP } from 'node:net';
import { DnsError, type DnsResolver } from '../dns/resolver.ts';

export interface Exchanger {
  /** Host name (for SNI and logs); the domain itself for an implicit MX. */
  name: string;
  preference: number;
  addresses: string[];
}

export type MxPlan =
  | { kind: 'exchangers'; exchangers: Exchanger[] }
  | { kind: 'fail'; permanent: boolean; reply: string };

/** Exchangers for `domain` in the order to try them; equal preferences are shuffled (RFC 5321 §5.1). */
export async function planDelivery(domain: string, resolver: DnsResolver, random = Math.random): Promise<MxPlan> {
  let records: Array<{ exchange: string; priority: number }>;
  try {
    records = await resolver.resolveMx(domain);
  } catch (err) {
    if (!(err instanceof DnsError)) throw err;
    if (err.code === 'ENODATA') records = []; // no MX: the implicit MX below
    else if (err.permanent) return { kind: 'fail', permanent: true, reply: `550 5.1.2 ${domain}: ${err.message}` };
    else return { kind: 'fail', permanent: false, reply: `451 4.4.3 ${domain}: ${err.message}` };
  }
  const isNull = (r: { exchange: string }) => r.exchange === '' || r.exchange === '.';
  // RFC 7505 §3: a single MX of "." says the domain takes no mail; answer 556 5.1.10 at once.
  if (records.length > 0 && records.every(isNull)) {
    return { kind: 'fail', permanent: true, reply: `556 5.1.10 ${domain}: the domain accepts no mail (null MX, RFC 7505)` };
  }
  const implicit = records.length === 0;
  const targets = implicit
    ? [{ exchange: domain, priority: 0 }]
    : records.filter((r) => !isNull(r)).map((r) => ({ ...r, tiebreak: random() })).sort((a, b) => a.priority - b.priority || a.tiebreak - b.tiebreak);

  const exchangers: Exchanger[] = [];
  let temporary: DnsError | null = null;
  for (const t of targets) {
    const name = t.exchange.replace(/\.$/, '').toLowerCase();
    const found = await addressesOf(name, resolver);
    if (found.temporary) temporary ??= found.temporary;
    if (found.addresses.length > 0) exchangers.push({ name, preference: t.priority, addresses: found.addresses });
  }
  if (exchangers.length > 0) return { kind: 'exchangers', exchangers };
  if (temporary) return { kind: 'fail', permanent: false, reply: `451 4.4.3 ${domain}: ${temporary.message}` };
  return {
    kind: 'fail',
    permanent: true,
    reply: implicit
      ? `550 5.1.2 ${domain}: the domain has neither MX nor address records`
      : `550 5.4.4 ${domain}: no mail exchanger of the domain has an address`,
  };
}

/** A and AAAA of a host (IPv4 first: the board's WAN is IPv4 more often than not). */
export async function addressesOf(host: string, resolver: DnsResolver): Promise<{ addresses: string[]; temporary: DnsError | null }> {
  if (isIP(host)) return { addresses: [host], temporary: null };
  const out: string[] = [];
  let temporary: DnsError | null = null;
  for (const family of [4, 6] as const) {
    try {
      out.push(...(await resolver.resolveAddresses(host, family)));
    } catch (err) {
      if (!(err instanceof DnsError)) throw err;
      if (!err.permanent) temporary ??= err;
    }
  }
  return { addresses: out, temporary: out.length > 0 ? null : temporary };
}
