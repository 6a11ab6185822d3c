// Fetching a domain's MTA-STS policy (RFC 8461 §3.3): GET https://mta-sts.DOMAIN/.well-known/
// mta-sts.txt with the certificate validated for that name (tls.extraRoots besides the public
// roots), the name resolved through dns.servers, no redirects, 200 only, text/plain only, at most
// 64 KiB, within mtasts.fetchTimeout. Every way it can go wrong has its own reason, which becomes
// the log line and the TLS-RPT failure type (RFC 8460 §4.3.2.2).
import type { LookupFunction } from 'node:net';
import type { DnsResolver } from '../dns/resolver.ts';
import { MAX_POLICY_BYTES, parsePolicy, type Policy } from './policy.ts';

export type FetchFailure = 'sts-policy-fetch-error' | 'sts-policy-invalid' | 'sts-webpki-invalid';

export type Fetched = { ok: true; policy: Policy; text: string } | { ok: false; failure: FetchFailure; reason: string };

export interface FetchOptions {
  resolver: DnsResolver;
  roots: string[];
  timeoutMs: number;
  /** 443 (RFC 8461 §3.3); tests point it at their own policy server. */
  port: number;
}

/** getaddrinfo's shape over the board's resolver, so policy hosts resolve like MX hosts. */
function lookupWith(resolver: DnsResolver): LookupFunction {
  return (hostname, options, callback) => {
    const all = typeof options === 'object' && options.all;
    (async () => {
      const v4 = await resolver.resolveAddresses(hostname, 4).catch(() => [] as string[]);
      const v6 = v4.length > 0 ? [] : await resolver.resolveAddresses(hostname, 6).catch(() => [] as string[]);
      return [...v4.map((address) => ({ address, family: 4 })), ...v6.map((address) => ({ address, family: 6 }))];
    })().then((found) => {
      if (found.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      if (all) return (callback as unknown as (e: null, a: typeof found) => void)(null, found);
      callback(null, found[0]!.address, found[0]!.family);
    }, (err: Error) => callback(err as NodeJS.ErrnoException, '', 0));
  };
}

const WEBPKI = /certificate|self[- ]signed|altnames|unable to (get|verify)|CERT_|ERR_TLS_CERT/i;

export function fetchPolicy(domain: string, o: FetchOptions): Promise<Fetched> {
  // CommonJS built-in, as in src/spam/rspamd.ts: no ES import of node:https in the bundle.
  const { request } = process.getBuiltinModule('node:https');
  const host = `mta-sts.${domain}`;
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Fetched) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const fail = (failure: FetchFailure, reason: string) => done({ ok: false, failure, reason });
    const req = request({
      host,
      port: o.port,
      path: '/.well-known/mta-sts.txt',
      method: 'GET',
      servername: host,
      ca: o.roots,
      lookup: lookupWith(o.resolver),
      headers: { 'User-Agent': 'Yubin MTA-STS', Accept: 'text/plain' },
      agent: false,
    }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) return fail('sts-policy-fetch-error', `HTTP ${status} redirect${res.headers.location ? ` to ${res.headers.location}` : ''} (redirects are not followed, RFC 8461 §3.3)`);
      if (status !== 200) return fail('sts-policy-fetch-error', `HTTP ${status}`);
      const type = String(res.headers['content-type'] ?? '');
      if (!/^text\/plain\s*(;|$)/i.test(type)) return fail('sts-policy-invalid', `Content-Type ${type || 'missing'}, not text/plain (RFC 8461 §3.2)`);
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > MAX_POLICY_BYTES) return fail('sts-policy-invalid', `body of ${declared} bytes, more than the ${MAX_POLICY_BYTES} allowed (RFC 8461 §3.3)`);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_POLICY_BYTES) return fail('sts-policy-invalid', `body larger than the ${MAX_POLICY_BYTES} bytes allowed (RFC 8461 §3.3)`);
        chunks.push(c);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const parsed = parsePolicy(text);
        if ('error' in parsed) return fail('sts-policy-invalid', `invalid policy: ${parsed.error}`);
        done({ ok: true, policy: parsed.policy, text });
      });
      res.on('error', (err) => fail('sts-policy-fetch-error', err.message));
    });
    const timer = setTimeout(() => fail('sts-policy-fetch-error', `no complete answer within ${o.timeoutMs / 1000} s`), o.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (WEBPKI.test(err.message) || WEBPKI.test(err.code ?? '')) fail('sts-webpki-invalid', `the certificate of ${host} is not valid: ${err.message}`);
      else fail('sts-policy-fetch-error', `${host}: ${err.code ?? ''} ${err.message}`.replace(/\s+/g, ' ').trim());
    });
    req.end();
  });
}
