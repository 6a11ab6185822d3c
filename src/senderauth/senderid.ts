// Sender ID (RFC 4406, experimental) written here because mailauth has none. The record syntax and
// evaluation are SPF's, so mailauth's SPF evaluator does the work: a resolver wrapper presents the
// "spf2.0/<scope>" record chosen for the scope as if it were "v=spf1", at every level (include,
// redirect), and mailauth's lookup limits and macros apply unchanged.
import { spf as mailauthSpf, type DNSResolver } from 'mailauth';
import { findPra } from './pra.ts';
import type { HeaderField } from '../mime/header-block.ts';

/** RFC 7208 §4.6.4: an SPF evaluation may be cut off after at least 20 seconds (then temperror). */
export const SPF_TIME_LIMIT_MS = 20_000;

export type SenderIdScope = 'pra' | 'mfrom';
export type SpfResultName = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';

export interface SenderIdResult {
  scope: SenderIdScope;
  result: SpfResultName;
  /** The address checked (the PRA, or MAIL FROM), if one was found. */
  identity: string | null;
  /** For pra: the header the PRA came from (lower case). */
  header: string | null;
  /** The record evaluated at the top level, as published. */
  record: string | null;
  why: string;
}

// RFC 4406 §3: version = "spf2.0" "/" scope *( "," scope ), then terms as in SPF.
const SPF2 = /^spf2\.0\/([A-Za-z0-9,-]+)(?= |$)/i;
const SPF1 = /^v=spf1(?= |$)/i;

/**
 * The records that apply to `scope`, rewritten to the v=spf1 form mailauth evaluates.
 * RFC 4406 §3.4: v=spf1 counts as "spf2.0/mfrom,pra" only when the name has no spf2.0 record.
 */
export function recordsForScope(txt: readonly (readonly string[])[], scope: SenderIdScope): string[][] {
  const joined = txt.map((strings) => strings.join(''));
  const v2 = joined.filter((r) => SPF2.test(r));
  if (v2.length === 0) return txt.map((strings) => [...strings]);
  const others = joined.filter((r) => !SPF2.test(r) && !SPF1.test(r)).map((r) => [r]);
  const matching = v2.filter((r) => (SPF2.exec(r)?.[1] ?? '').toLowerCase().split(',').includes(scope));
  return [...others, ...matching.map((r) => ['v=spf1' + r.replace(SPF2, '')])];
}

/** A resolver whose TXT answers show each name's record for `scope` as v=spf1. */
export function scopedResolver(base: DNSResolver, scope: SenderIdScope, seen?: Map<string, string>): DNSResolver {
  return async (name, rrtype) => {
    const answer = await base(name, rrtype);
    if (rrtype.toUpperCase() !== 'TXT') return answer;
    const records = recordsForScope(answer as string[][], scope);
    const chosen = records.map((r) => r.join('')).find((r) => SPF1.test(r));
    const original = (answer as string[][]).map((r) => r.join('')).find((r) => SPF2.test(r) || SPF1.test(r));
    if (seen && chosen && original) seen.set(name.toLowerCase(), original);
    return records;
  };
}

export interface SenderIdOptions {
  ip: string;
  helo: string;
  resolver: DNSResolver;
  /** Our host name, used in the explanation text. */
  mta: string;
}

/** Check one identity under one scope (RFC 4406 §4: check_host() with the scope's records). */
export async function checkScope(identity: string, scope: SenderIdScope, opts: SenderIdOptions): Promise<Omit<SenderIdResult, 'header'>> {
  const seen = new Map<string, string>();
  const res = await mailauthSpf({
    sender: identity,
    ip: opts.ip,
    helo: opts.helo,
    mta: opts.mta,
    strict: true,
    maxElapsedTime: SPF_TIME_LIMIT_MS,
    resolver: scopedResolver(opts.resolver, scope, seen),
  });
  const result = res.status.result as SpfResultName;
  const record = seen.get(res.domain) ?? null;
  return {
    scope,
    result,
    identity,
    record,
    why: `${scope} scope, ${identity}: ${explain(result, res.domain, opts.ip, record, res.status.comment)}`,
  };
}

function explain(result: SpfResultName, domain: string, ip: string, record: string | null, comment: string | undefined): string {
  const rec = record ? ` (record "${record}")` : '';
  switch (result) {
    case 'pass': return `${domain} designates ${ip} as a permitted sender${rec}`;
    case 'fail': return `${domain} does not permit ${ip} to send${rec}`;
    case 'softfail': return `${domain} does not permit ${ip} but asks to accept with suspicion (~)${rec}`;
    case 'neutral': return `${domain} makes no assertion about ${ip}${rec}`;
    case 'none': return `${domain} publishes no Sender ID or SPF record for this scope`;
    default: return `${result}: ${comment ?? ''}${rec}`;
  }
}

/** The PRA check on a message's headers (RFC 4406 §4 with the PRA of RFC 4407). */
export async function checkSenderId(headers: readonly HeaderField[], opts: SenderIdOptions): Promise<SenderIdResult> {
  const found = findPra(headers);
  if (!found.ok) {
    // RFC 4407 §2 step 6: no PRA means an ill-formed message; RFC 4406 §4 makes that a PermError.
    return { scope: 'pra', result: 'permerror', identity: null, header: null, record: null, why: `no Purported Responsible Address: ${found.why}` };
  }
  const r = await checkScope(found.pra.address, 'pra', opts);
  return { ...r, header: found.pra.header, why: `${r.why}; PRA taken from ${found.pra.header}` };
}
