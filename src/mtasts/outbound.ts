// MTA-STS for the mail this board sends (RFC 8461 §5): before connecting to a domain's MX, look
// up _mta-sts.DOMAIN; when its id differs from the cached policy's (or none is cached), fetch the
// policy; cache it for max_age. Then:
//   enforce  only MX hosts the policy lists, STARTTLS required, certificate valid for the MX name;
//            otherwise the mail is deferred (4.7.5 / 4.7.10), never sent in the clear (§5.1)
//   testing  delivered as without a policy; what would have failed is reported (TLS-RPT)
//   none     as without a policy
// A policy that cannot be fetched or read is no policy (§5: fail open), unless a cached one still
// holds: then the cached one applies. mtasts.skipDomains are left alone (the admin's override).
// Every session's TLS outcome goes to TLS-RPT under the policy that applied.
import type { Context } from '../context.ts';
import { resolverFromSettings, DnsError } from '../dns/resolver.ts';
import { trustedRoots } from '../tls/trust.ts';
import type { Exchanger } from '../outbound/mx.ts';
import type { SessionTls, TlsRequirement, TransportDecision, TransportPolicy } from '../outbound/transport.ts';
import { certificateFailure, type ReportPolicy, type TlsReportRecorder } from '../tlsrpt/recorder.ts';
import { PolicyCache, type CachedPolicy } from './cache.ts';
import { mxMatches, parseStsRecord } from './policy.ts';
import type { FetchFailure } from './fetch.ts';

export interface StsOptions {
  recorder?: TlsReportRecorder;
}

type Found =
  | { kind: 'policy'; cached: CachedPolicy; fresh: boolean }
  | { kind: 'none'; failure?: { type: FetchFailure; reason: string } };

export function createStsPolicy(ctx: Context, options: StsOptions = {}): TransportPolicy {
  const cache = new PolicyCache(ctx.dataDir);
  const settings = () => ctx.store.settings;
  // One lookup and fetch per domain at a time: a burst of mail to one domain fetches once.
  const inflight = new Map<string, Promise<Found>>();

  async function discover(domain: string): Promise<Found> {
    const s = settings();
    const cached = await cache.get(domain);
    let id: string | null = null;
    try {
      const record = parseStsRecord((await resolverFromSettings(ctx.store).resolveTxt(`_mta-sts.${domain}`)).map((p) => p.join('')));
      if (record && 'error' in record) ctx.log.log('warn', 'mtasts: unusable _mta-sts record', { domain, error: record.error });
      id = record && 'id' in record ? record.id : null;
    } catch (err) {
      // A failed lookup is no record; a cached policy still holds (§5.1).
      if (!(err instanceof DnsError)) throw err;
    }
    if (cached && (id === null || id === cached.id)) return { kind: 'policy', cached, fresh: false };
    if (id === null) return { kind: 'none' };
    const { fetchPolicy } = await import('./fetch.ts');
    const fetched = await fetchPolicy(domain, {
      resolver: resolverFromSettings(ctx.store),
      roots: trustedRoots(s['tls.extraRoots']),
      timeoutMs: s['mtasts.fetchTimeout'] * 1000,
      port: s['mtasts.policyPort'],
    });
    if (!fetched.ok) {
      ctx.log.log('warn', cached ? 'mtasts: policy fetch failed; the cached policy still applies' : 'mtasts: policy fetch failed; delivering as without a policy (RFC 8461 §5)', { domain, id, failure: fetched.failure, reason: fetched.reason });
      return cached ? { kind: 'policy', cached, fresh: false } : { kind: 'none', failure: { type: fetched.failure, reason: fetched.reason } };
    }
    const now = Date.now();
    const entry: CachedPolicy = { id, policy: fetched.policy, text: fetched.text, fetchedAt: now, expiresAt: now + fetched.policy.maxAge * 1000 };
    await cache.put(domain, entry);
    ctx.log.log('info', 'mtasts: policy fetched', { domain, id, mode: fetched.policy.mode, mx: fetched.policy.mx, maxAge: fetched.policy.maxAge });
    return { kind: 'policy', cached: entry, fresh: true };
  }

  function found(domain: string): Promise<Found> {
    let p = inflight.get(domain);
    if (!p) {
      p = discover(domain).finally(() => inflight.delete(domain));
      inflight.set(domain, p);
    }
    return p;
  }

  const record = (policy: ReportPolicy, failure: Parameters<TlsReportRecorder['record']>[1]) => {
    options.recorder?.record(policy, failure).catch(() => undefined);
  };

  /** TLS-RPT for one session under `policy`: was TLS what the policy asks for? */
  function reporter(policy: ReportPolicy, judge: boolean): (s: SessionTls) => void {
    return (s) => {
      const where = { receivingMx: s.exchanger, receivingIp: s.address };
      if (s.noStarttls || (judge && !s.secure && s.authorized === undefined && s.answered)) return record(policy, { type: 'starttls-not-supported', ...where });
      if (judge && s.authorized === false) return record(policy, { type: certificateFailure(s.error), ...where, ...(s.error ? { reason: s.error.slice(0, 200) } : {}) });
      if (s.answered) record(policy, null);
    };
  }

  return {
    async decide(domain: string, exchangers: Exchanger[], base: TlsRequirement): Promise<TransportDecision> {
      const s = settings();
      const noPolicy: ReportPolicy = { type: 'no-policy-found', domain };
      if (!s['mtasts.outbound'] || s['mtasts.skipDomains'].includes(domain)) {
        return { kind: 'go', exchangers, tls: base, sessionDone: reporter(noPolicy, false) };
      }
      let f: Found;
      try {
        f = await found(domain);
      } catch (err) {
        ctx.log.log('warn', 'mtasts: policy check failed; delivering as without a policy', { domain, error: (err as Error).message });
        f = { kind: 'none' };
      }
      if (f.kind === 'none') {
        if (f.failure) record({ type: 'sts', domain }, { type: f.failure.type, reason: f.failure.reason.slice(0, 200) });
        return { kind: 'go', exchangers, tls: base, sessionDone: reporter(noPolicy, false) };
      }
      const { policy, text } = f.cached;
      const report: ReportPolicy = { type: 'sts', domain, strings: text.split(/\r?\n/).filter((l) => l.trim() !== ''), mxHost: policy.mx };
      if (policy.mode === 'none') return { kind: 'go', exchangers, tls: base, sessionDone: reporter(noPolicy, false) };
      const matching = exchangers.filter((x) => mxMatches(x.name, policy.mx));
      if (policy.mode === 'testing') {
        for (const x of exchangers.filter((e) => !matching.includes(e))) record(report, { type: 'validation-failure', receivingMx: x.name, reason: 'MX host not listed in the MTA-STS policy' });
        return { kind: 'go', exchangers, tls: { ...base, observe: true }, sessionDone: reporter(report, true) };
      }
      if (matching.length === 0) {
        record(report, { type: 'validation-failure', receivingMx: exchangers.map((x) => x.name).join(' '), reason: 'no MX host listed in the MTA-STS policy' });
        ctx.log.log('warn', 'mtasts: no MX host matches the enforce policy; deferred', { domain, mx: exchangers.map((x) => x.name), policy: policy.mx });
        return {
          kind: 'fail',
          result: { status: 'deferred', reply: `451 4.7.5 ${domain}: no MX host (${exchangers.map((x) => x.name).join(', ')}) matches its MTA-STS policy (enforce; mx: ${policy.mx.join(', ')}); not sent` },
        };
      }
      return {
        kind: 'go',
        exchangers: matching,
        tls: { mode: 'required', verify: true, because: `the MTA-STS policy of ${domain} (enforce)` },
        sessionDone: reporter(report, true),
      };
    },
  };
}
