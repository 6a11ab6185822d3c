// The MTA-STS policy text and the _mta-sts TXT record (RFC 8461 §3), read and written in one place.
// Untrusted input from the network is parsed here only; what comes out is checked and typed.

export type Mode = 'enforce' | 'testing' | 'none';

export interface Policy {
  mode: Mode;
  /** MX patterns: a host name, or "*.domain" matching one label (§4.1). */
  mx: string[];
  /** Seconds the policy may be cached (at most a year, §3.2). */
  maxAge: number;
}

export const MAX_AGE_LIMIT = 31_557_600;
/** RFC 8461 §3.3: senders should not accept policy bodies over 64 KiB. */
export const MAX_POLICY_BYTES = 64 * 1024;

/** A policy body as served; null when `text` is no valid policy, with the reason. */
export function parsePolicy(text: string): { policy: Policy } | { error: string } {
  const fields = new Map<string, string[]>();
  // §3.2: CRLF-separated key/value pairs; LF alone is common enough that every sender accepts it.
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { error: `line without "key: value": ${JSON.stringify(line.slice(0, 60))}` };
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!/^[A-Za-z0-9_]{1,32}$/.test(key)) return { error: `bad key ${JSON.stringify(key.slice(0, 40))}` };
    fields.set(key, [...(fields.get(key) ?? []), value]);
  }
  const one = (k: string) => fields.get(k)?.[0];
  const version = one('version');
  if (version !== 'STSv1') return { error: version === undefined ? 'no version field' : `version is ${JSON.stringify(version)}, not STSv1` };
  const mode = one('mode');
  if (mode === undefined) return { error: 'no mode field' };
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') return { error: `mode is ${JSON.stringify(mode)}, not enforce, testing or none` };
  const maxAgeText = one('max_age');
  if (maxAgeText === undefined) return { error: 'no max_age field' };
  if (!/^\d{1,10}$/.test(maxAgeText)) return { error: `max_age ${JSON.stringify(maxAgeText)} is not a number of seconds` };
  const mx = (fields.get('mx') ?? []).map((m) => m.toLowerCase().replace(/\.$/, ''));
  for (const m of mx) if (!/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(m)) return { error: `bad mx pattern ${JSON.stringify(m)}` };
  if (mx.length === 0 && mode !== 'none') return { error: `mode ${mode} without any mx field` };
  return { policy: { mode, mx, maxAge: Math.min(Number(maxAgeText), MAX_AGE_LIMIT) } };
}

export function formatPolicy(p: Policy): string {
  return ['version: STSv1', `mode: ${p.mode}`, ...p.mx.map((m) => `mx: ${m}`), `max_age: ${p.maxAge}`, ''].join('\r\n');
}

/** The _mta-sts TXT record (§3.1): its id, or why it is not one. Several records are "no policy". */
export function parseStsRecord(txts: readonly string[]): { id: string } | { error: string } | null {
  const sts = txts.filter((t) => /^v=STSv1\s*(;|$)/.test(t));
  if (sts.length === 0) return null;
  if (sts.length > 1) return { error: 'more than one v=STSv1 record' };
  const id = /(?:^|;)\s*id=([A-Za-z0-9]{1,32})\s*(?:;|$)/.exec(sts[0]!)?.[1];
  return id ? { id } : { error: `no valid id in ${JSON.stringify(sts[0]!.slice(0, 80))}` };
}

/** Whether `host` (an MX name) matches a policy pattern (§4.1: a wildcard covers one left-most label). */
export function mxMatches(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((p) => (p.startsWith('*.') ? h.endsWith(p.slice(1)) && !h.slice(0, -(p.length - 1)).includes('.') && h.length > p.length - 1 : h === p));
}
