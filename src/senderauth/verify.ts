// Runs every sender check on one message: SPF, DKIM, ARC and DMARC through mailauth (one streaming
// pass over the file), Sender ID by our own module, and builds the trace headers from the results.
import type { FileHead } from '../mail/types.ts';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { authenticate, type AuthenticateOptions, type AuthenticateResult, type DNSResolver } from 'mailauth';
import { parseHeaderBlock, readHeaderBlock } from '../mime/header-block.ts';
import { checkSenderId, SPF_TIME_LIMIT_MS, type SenderIdResult, type SpfResultName } from './senderid.ts';

export interface VerifyInput {
  /** The spooled message (CRLF). */
  path: string;
  /** The start of the file, when the spool kept it (the header block is read from it). */
  head?: FileHead;
  ip: string;
  helo: string;
  /** Envelope sender, '' for the null sender. */
  mailFrom: string;
  /** Our host name: the authserv-id of Authentication-Results (RFC 8601 §2.5). */
  mta: string;
  resolver: DNSResolver;
  strict: boolean;
  minRsaBits: number;
  arc: boolean;
  /** A larger header block fails with HeaderError (mime.maxHeaderBytes). */
  maxHeaderBytes?: number;
}

export interface DkimVerdict {
  result: string;
  domain: string;
  selector: string;
  algorithm: string;
  aligned: boolean;
  why: string;
}

/** What the author domain's DMARC record publishes, for aggregate reports (RFC 9990 §2.1 policy_published). */
export interface DmarcPublished {
  /** The DMARC Policy Domain: where the applied record was found (RFC 9989 §3.2.5). */
  policyDomain: string;
  p: string;
  sp?: string;
  np?: string;
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  fo?: string;
  testing: 'y' | 'n';
  /** The mailto: addresses of rua (the "!size" suffix of RFC 7489 dropped). */
  rua: string[];
  /** Aligned and passing: the DMARC-level results of policy_evaluated. */
  dkimAligned: boolean;
  spfAligned: boolean;
}

export interface AuthResults {
  spf: { result: SpfResultName; domain: string; why: string; receivedSpf: string | null; info: string | null };
  senderId: SenderIdResult;
  dkim: DkimVerdict[];
  arc: { result: string; why: string } | null;
  dmarc: { result: string; domain: string; policy: string; why: string; report?: DmarcPublished } | null;
  /** "Authentication-Results: ..." then "Received-SPF: ...", each a full field, folded with CRLF SP. */
  headers: string[];
}

export async function verifyMessage(input: VerifyInput): Promise<AuthResults> {
  const block = await readHeaderBlock(input.path, input.maxHeaderBytes, input.head);
  const headers = parseHeaderBlock(block.raw.toString('latin1'));
  // Only a DKIM or ARC signature needs the body (its body hash); SPF, DMARC and Sender ID read the
  // envelope and the headers. An unsigned message is handed over as its header block alone, so a
  // 50 MiB unsigned message is not read a second time for nothing.
  const signed = headers.some((h) => h.key === 'dkim-signature' || (input.arc && h.key.startsWith('arc-')));
  const stream = signed
    ? createReadStream(input.path, { highWaterMark: 64 * 1024 })
    : Readable.from([block.raw, Buffer.from('\r\n')]);
  let res: AuthenticateResult;
  try {
    // mailauth hands these options to its SPF check too, which reads maxElapsedTime.
    const options: AuthenticateOptions & { maxElapsedTime: number } = {
      maxElapsedTime: SPF_TIME_LIMIT_MS,
      ip: input.ip,
      helo: input.helo,
      sender: input.mailFrom,
      mta: input.mta,
      resolver: input.resolver,
      strict: input.strict,
      minBitLength: input.minRsaBits,
      disableArc: !input.arc,
      disableBimi: true,
    };
    res = await authenticate(stream, options);
  } finally {
    stream.destroy();
  }
  const senderId = await checkSenderId(headers, { ip: input.ip, helo: input.helo, resolver: input.resolver, mta: input.mta });
  return summarise(res, senderId, input.mta);
}

/** Turn mailauth's answer and our Sender ID result into the typed summary and the trace headers. */
export function summarise(res: AuthenticateResult, senderId: SenderIdResult, mta: string): AuthResults {
  const spfRes = res.spf || null;
  const spf = spfRes
    ? {
        result: spfRes.status.result as SpfResultName,
        domain: spfRes.domain,
        why: spfRes.status.comment ?? '',
        receivedSpf: spfRes.header,
        info: spfRes.info,
      }
    : { result: 'none' as const, domain: '', why: 'SPF not checked', receivedSpf: null, info: null };

  const dkim: DkimVerdict[] = (res.dkim.results ?? [])
    .filter((r) => r.signingDomain)
    .map((r) => ({
      result: r.status.result,
      domain: r.signingDomain ?? '',
      selector: r.selector ?? '',
      algorithm: r.algo ?? '',
      aligned: Boolean(r.status.aligned),
      why: r.status.comment ?? r.status.result,
    }));

  const arc = res.arc ? { result: res.arc.status.result, why: res.arc.status.comment ?? '' } : null;
  const dmarc = res.dmarc
    ? { result: res.dmarc.status.result, domain: res.dmarc.status.header?.from ?? res.dmarc.domain, policy: res.dmarc.policy ?? 'none', why: res.dmarc.status.comment ?? '', ...published(res.dmarc) }
    : null;

  // RFC 8601 §2.2: one field, the authserv-id then one resinfo per method, in check order.
  const rows: string[] = [];
  for (const r of res.dkim.results ?? []) if (r.info) rows.push(r.info);
  if (spf.info) rows.push(spf.info);
  rows.push(senderIdInfo(senderId));
  if (res.arc && res.arc.info) rows.push(res.arc.info);
  if (res.dmarc && res.dmarc.info) rows.push(res.dmarc.info);
  const ar = `Authentication-Results: ${authservId(mta)};\r\n ${rows.map(oneLine).join(';\r\n ')}`;
  const out = [ar];
  if (spf.receivedSpf) out.push(spf.receivedSpf.replace(/\r?\n(?=[ \t])/g, '\r\n'));
  return { spf, senderId, dkim, arc, dmarc, headers: out };
}

function oneLine(s: string): string {
  return s.replace(/\r?\n[ \t]*/g, ' ');
}

function authservId(mta: string): string {
  return /^[A-Za-z0-9.-]+$/.test(mta) ? mta : `"${mta.replace(/["\\]/g, '\\$&')}"`;
}

/** RFC 8601 §2.7.3: method sender-id, ptype header, property the header the PRA came from. */
export function senderIdInfo(r: SenderIdResult): string {
  const comment = r.result === 'pass' || r.result === 'none' ? '' : ` (${r.why.replace(/[()\\]/g, '\\$&')})`;
  if (!r.identity || !r.header) return `sender-id=${r.result}${comment}`;
  return `sender-id=${r.result}${comment} header.${r.header}=${pvalue(r.identity)}`;
}

function pvalue(address: string): string {
  return /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+$/.test(address) ? address : `"${address.replace(/["\\]/g, '\\$&')}"`;
}

/** The published record behind a DMARC result (mailauth keeps it as a hidden property), when it asks for reports. */
function published(d: NonNullable<AuthenticateResult['dmarc']>): { report?: DmarcPublished } {
  const r = d as unknown as { record?: Record<string, string>; policyDomain?: string; p?: string; sp?: string; np?: string; testMode?: boolean; alignment?: { spf?: { result?: string }; dkim?: { result?: string } } };
  const record = r.record;
  if (!record || typeof record.rua !== 'string' || !r.policyDomain || !r.p) return {};
  const rua = record.rua.split(',').map((u) => u.trim().replace(/![0-9]+[kmgt]?$/i, '')).filter((u) => /^mailto:[^\s@]+@[^\s@]+$/i.test(u)).map((u) => decodeURIComponent(u.slice(7)));
  if (rua.length === 0) return {};
  return {
    report: {
      policyDomain: r.policyDomain,
      p: r.p,
      ...(record.sp ? { sp: record.sp } : {}),
      ...(record.np ? { np: record.np } : {}),
      adkim: record.adkim === 's' ? 's' : 'r',
      aspf: record.aspf === 's' ? 's' : 'r',
      ...(record.fo ? { fo: record.fo } : {}),
      testing: r.testMode ? 'y' : 'n',
      rua,
      dkimAligned: Boolean(r.alignment?.dkim?.result),
      spfAligned: Boolean(r.alignment?.spf?.result),
    },
  };
}
