// MTA-STS for the board's own domains (RFC 8461 §3): the policy served at
// https://mta-sts.DOMAIN/.well-known/mta-sts.txt for every local domain while mtasts.mode is
// testing or enforce, and the DNS records the admin publishes with it (`yubin mtasts records`).
// The id of the _mta-sts record is a digest of the policy, so it changes exactly when the policy does.
import { createHash } from 'node:crypto';
import type { Context } from '../context.ts';
import type { Settings } from '../config/schema.ts';
import type { WebService } from '../web/service.ts';
import { formatPolicy, type Policy } from './policy.ts';

const PATH = '/.well-known/mta-sts.txt';

export function ownPolicy(s: Readonly<Settings>): Policy {
  return { mode: s['mtasts.mode'], mx: s['mtasts.mx'].length > 0 ? [...s['mtasts.mx']] : [s.hostname], maxAge: s['mtasts.maxAge'] };
}

export function policyId(policy: Policy): string {
  return createHash('sha256').update(formatPolicy(policy)).digest('hex').slice(0, 20);
}

/** The records to publish for `domain` (zone-file lines), with a word on each. */
export function recordsFor(s: Readonly<Settings>, domain: string): { record: string; why: string }[] {
  const policy = ownPolicy(s);
  return [
    { record: `mta-sts.${domain}. IN CNAME ${s.hostname}.`, why: 'the policy host: the board (or an A record with its public address); its certificate carries this name (ACME adds it)' },
    { record: `_mta-sts.${domain}. IN TXT "v=STSv1; id=${policyId(policy)}"`, why: `announces the ${policy.mode} policy; the id changes whenever the policy does` },
    { record: `_smtp._tls.${domain}. IN TXT "v=TLSRPTv1; rua=mailto:${s['tlsrpt.rua'] || `postmaster@${domain}`}"`, why: 'where other servers send their daily TLS reports (RFC 8460)' },
  ];
}

export function attachPolicyRoute(ctx: Context, web: WebService): () => void {
  const settings = () => ctx.store.settings;
  return web.route({
    name: 'mta-sts',
    schemes: ['https'],
    active: () => settings()['mtasts.mode'] !== 'none' && settings().domains.length > 0,
    match: (req) => req.path === PATH && req.host.startsWith('mta-sts.') && settings().domains.includes(req.host.slice('mta-sts.'.length)),
    handle() {
      // §3.3: text/plain; no redirects; the same policy for every domain of the board.
      return { status: 200, type: 'text/plain; charset=utf-8', body: formatPolicy(ownPolicy(settings())), headers: { 'Cache-Control': 'max-age=300' } };
    },
  });
}
