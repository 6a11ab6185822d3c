// DNS-01 (RFC 8555 §8.4): the TXT record _acme-challenge.NAME holds the digest of the key
// authorization. Two ways to publish it: an RFC 2136 update of the office's primary DNS server
// (acme.dnsServer, TSIG-signed), which runs unattended at every renewal; or the console flow,
// which prints the record for the admin to publish and waits until it is visible. Either way the
// record is looked up through dns.servers before the CA is asked to check it.
import type { Context } from '../context.ts';
import { resolverFromSettings, DnsError } from '../dns/resolver.ts';
import { splitHostPort } from '../outbound/deliverer.ts';
import type { ChallengeSolver } from './types.ts';
import { updateTxt, type UpdateServer } from './rfc2136.ts';

const CHECK_EVERY_MS = 2000;

export const challengeName = (name: string): string => `_acme-challenge.${name}`;

/** Wait until `owner` has a TXT record `value` through the board's resolver, at most `seconds`. */
export async function waitVisible(ctx: Context, owner: string, value: string, seconds: number, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + seconds * 1000;
  let last = 'not looked up yet';
  while (Date.now() < until && !signal?.aborted) {
    try {
      const txts = (await resolverFromSettings(ctx.store).resolveTxt(owner)).map((parts) => parts.join(''));
      if (txts.includes(value)) return;
      last = txts.length === 0 ? 'no TXT record' : `TXT ${txts.map((t) => JSON.stringify(t)).join(', ')}`;
    } catch (err) {
      last = err instanceof DnsError ? err.message : (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, CHECK_EVERY_MS));
  }
  throw new Error(`${owner} TXT ${JSON.stringify(value)} is not visible through dns.servers after ${seconds} s (last: ${last})`);
}

/** The zone of `name`: acme.dnsZone, else the longest local domain it belongs to. */
export function zoneOf(ctx: Context, name: string): string {
  const s = ctx.store.settings;
  if (s['acme.dnsZone'] !== '') return s['acme.dnsZone'];
  const zone = [...s.domains].sort((a, b) => b.length - a.length).find((d) => name === d || name.endsWith(`.${d}`));
  if (!zone) throw new Error(`dns-01: ${name} is in no local domain; set acme.dnsZone to the zone that holds it`);
  return zone;
}

/** The RFC 2136 solver, or null when acme.dnsServer is empty (the console flow is then the way). */
export function rfc2136Solver(ctx: Context): ChallengeSolver | null {
  const s = ctx.store.settings;
  if (s['acme.dnsServer'] === '') return null;
  const server = (name: string): UpdateServer => {
    const { host, port } = splitHostPort(s['acme.dnsServer'], 53);
    return {
      host,
      port,
      zone: zoneOf(ctx, name),
      ...(s['acme.tsigName'] !== '' ? { tsig: { name: s['acme.tsigName'], algorithm: s['acme.tsigAlgorithm'], secret: s['acme.tsigSecret'] } } : {}),
    };
  };
  return {
    type: 'dns-01',
    async prepare(name, _challenge, digest) {
      await updateTxt(server(name), 'add', challengeName(name), digest);
      ctx.log.log('info', 'acme dns-01: TXT record added by RFC 2136 update', { owner: challengeName(name), server: s['acme.dnsServer'] });
      await waitVisible(ctx, challengeName(name), digest, s['acme.dnsWait']);
    },
    async cleanup(name, _challenge, digest) {
      await updateTxt(server(name), 'delete', challengeName(name), digest);
    },
  };
}

/** The console flow: `say` tells the admin what to publish; then the record is waited for. */
export function consoleSolver(ctx: Context, say: (text: string) => void): ChallengeSolver {
  return {
    type: 'dns-01',
    async prepare(name, _challenge, digest) {
      const seconds = ctx.store.get('acme.dnsWait');
      say(`Publish this record in the DNS zone of ${name}, then wait here (checked every ${CHECK_EVERY_MS / 1000} s for ${seconds} s):\n  ${challengeName(name)}. 60 IN TXT "${digest}"\n`);
      await waitVisible(ctx, challengeName(name), digest, seconds);
      say(`  ${challengeName(name)} is visible; asking the CA to check it.\n`);
    },
    async cleanup(name) {
      say(`  You may remove the TXT record ${challengeName(name)} now.\n`);
    },
  };
}
