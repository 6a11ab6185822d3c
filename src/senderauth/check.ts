// Diagnostics the CLI and console call (`yubin check spf|senderid|dkim|dmarc`): each returns the
// result and the reasons, in words an administrator can act on. `dns` is a resolver or "HOST:PORT".
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { hostname } from 'node:os';
import { authenticate, dkimVerify, spf } from 'mailauth';
import { resolverFor, type DnsResolver } from '../dns/resolver.ts';
import { mailauthResolver } from './mailauth-dns.ts';
import { readHeaders } from '../mime/header-block.ts';
import { checkScope, checkSenderId as senderIdOnHeaders, SPF_TIME_LIMIT_MS } from './senderid.ts';

export interface Diagnosis {
  result: string;
  /** One line per reason, first the most important. */
  why: string[];
}

export interface DkimDiagnosis extends Diagnosis {
  /** One entry per DKIM-Signature, in message order. */
  signatures: Array<{ domain: string; selector: string; algorithm: string; result: string; comment: string; bits: number | null }>;
}

type DnsChoice = DnsResolver | string | undefined;

function resolverOf(dns: DnsChoice) {
  return mailauthResolver(typeof dns === 'object' ? dns : resolverFor(dns));
}

const MTA = hostname();

/** SPF (RFC 7208) for a client address, HELO name and envelope sender ('' = null sender: HELO is checked). */
export async function checkSpf(opts: { ip: string; helo: string; from: string; dns?: DnsChoice }): Promise<Diagnosis> {
  const res = await spf({ ip: opts.ip, helo: opts.helo, sender: opts.from, mta: MTA, strict: true, maxElapsedTime: SPF_TIME_LIMIT_MS, resolver: resolverOf(opts.dns) });
  const why = [res.status.comment ?? res.status.result];
  why.push(res.rr ? `record of ${res.domain}: "${res.rr}"` : `no SPF record found for ${res.domain}`);
  if (res.lookups) why.push(`DNS lookups: ${res.lookups.count} of ${res.lookups.limit} allowed, ${res.lookups.void} void (RFC 7208 §4.6.4)`);
  if (res.explanation) why.push(`explanation published by the domain: ${res.explanation}`);
  return { result: res.status.result, why };
}

/** Sender ID (RFC 4406) on a message file: the PRA scope, and the mfrom scope when `from` is given. */
export async function checkSenderId(file: string, opts: { ip: string; helo?: string; from?: string; dns?: DnsChoice }): Promise<Diagnosis> {
  const resolver = resolverOf(opts.dns);
  const helo = opts.helo ?? opts.ip;
  const pra = await senderIdOnHeaders(await readHeaders(file), { ip: opts.ip, helo, resolver, mta: MTA });
  const why = [pra.why];
  if (pra.record) why.push(`record: "${pra.record}"`);
  if (opts.from) {
    const mfrom = await checkScope(opts.from, 'mfrom', { ip: opts.ip, helo, resolver, mta: MTA });
    why.push(`mfrom scope: ${mfrom.result} (${mfrom.why})`);
  }
  return { result: pra.result, why };
}

/**
 * The message file as a stream, opened first: a missing file fails here, cleanly, instead of as an
 * 'error' on a stream nobody listens to yet (mailauth attaches its listener later; the fuzzer's
 * `check dkim #` ended the process that way). A later read error is mailauth's to report.
 */
async function messageStream(file: string): Promise<Readable> {
  const handle = await open(file, 'r');
  const stream = handle.createReadStream();
  stream.on('error', () => undefined);
  return stream;
}

/** DKIM (RFC 6376, RFC 8301 key rules, RFC 8463 ed25519): every signature of a message file. */
export async function checkDkim(file: string, opts: { dns?: DnsChoice; minRsaBits?: number } = {}): Promise<DkimDiagnosis> {
  const stream = await messageStream(file);
  try {
    const res = await dkimVerify(stream, { resolver: resolverOf(opts.dns), strict: true, minBitLength: opts.minRsaBits ?? 1024 });
    const sigs = (res.results ?? []).filter((r) => r.signingDomain);
    if (sigs.length === 0) return { result: 'none', why: ['the message has no DKIM-Signature header'], signatures: [] };
    const why = sigs.map((r) => {
      const bits = r.modulusLength ? `, ${r.modulusLength}-bit key` : '';
      return `d=${r.signingDomain} s=${r.selector} a=${r.algo} c=${r.format}: ${r.status.result}${r.status.comment ? ` (${r.status.comment})` : ''}${bits}`;
    });
    const result = sigs.some((r) => r.status.result === 'pass') ? 'pass' : sigs[0]!.status.result;
    const signatures = sigs.map((r) => ({
      domain: r.signingDomain ?? '',
      selector: r.selector ?? '',
      algorithm: r.algo ?? '',
      result: r.status.result,
      comment: r.status.comment ?? '',
      bits: r.modulusLength ?? null,
    }));
    return { result, why, signatures };
  } finally {
    stream.destroy();
  }
}

/** ARC (RFC 8617): the chain validation status (cv) of a message file, and why. */
export async function checkArc(file: string, opts: { dns?: DnsChoice } = {}): Promise<Diagnosis> {
  const stream = await messageStream(file);
  try {
    const res = await authenticate(stream, {
      ip: '127.0.0.1', helo: 'localhost', sender: '', mta: MTA, strict: true, resolver: resolverOf(opts.dns),
      disableDmarc: true, disableBimi: true,
    });
    if (!res.arc) return { result: 'none', why: ['ARC not evaluated'] };
    const why = [`chain of ${res.arc.i || 0} instance(s): ${res.arc.status.result}${res.arc.status.comment ? ` (${res.arc.status.comment})` : ''}`];
    if (res.arc.signature && res.arc.signature.signingDomain) why.push(`last ARC-Message-Signature by ${res.arc.signature.signingDomain}: ${res.arc.signature.status.result}`);
    return { result: res.arc.status.result, why };
  } finally {
    stream.destroy();
  }
}

/** DMARC (RFC 7489) on a message file, from the SPF and DKIM results for this client and envelope. */
export async function checkDmarc(file: string, opts: { ip: string; from: string; helo?: string; dns?: DnsChoice }): Promise<Diagnosis> {
  const stream = await messageStream(file);
  try {
    const res = await authenticate(stream, {
      ip: opts.ip,
      helo: opts.helo ?? opts.ip,
      sender: opts.from,
      mta: MTA,
      strict: true,
      resolver: resolverOf(opts.dns),
      disableArc: true,
      disableBimi: true,
    });
    if (!res.dmarc) return { result: 'none', why: [`DMARC not evaluated: ${res.dmarcSkipReason ?? 'no author domain'}`] };
    const d = res.dmarc;
    const why = [
      `${d.status.header?.from ?? d.domain}: ${d.status.result}${d.status.comment ? ` (${d.status.comment})` : ''}`,
      d.rr ? `record: "${d.rr}" (policy ${d.policy}${d.testMode ? ', testing' : ''})` : 'no DMARC record',
      `SPF ${res.spf ? res.spf.status.result : 'none'} for ${res.spf ? res.spf.domain : '-'}; aligned: ${d.alignment.spf.result ?? 'no'}${d.alignment.spf.strict ? ' (strict)' : ''}`,
      `DKIM aligned: ${d.alignment.dkim.result ?? 'no'}${d.alignment.dkim.strict ? ' (strict)' : ''}`,
    ];
    return { result: d.status.result, why };
  } finally {
    stream.destroy();
  }
}
