// Delivery status notifications (RFC 3464): a multipart/report (RFC 6522) with a human part, the
// machine-readable message/delivery-status part, and the original header (text/rfc822-headers).
// The body of the original is never returned: it may be large, and it is the sender's own.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { QueueEntry, RcptState } from '../spool/entry.ts';
import { generatedHeaderLines, rfc5322Date } from '../pickup/generated.ts';

export type DsnAction = 'failed' | 'delayed';

export interface DsnFacts {
  action: DsnAction;
  reportingHost: string;
  entry: QueueEntry;
  rcpts: RcptState[];
  /** Epoch ms until which a delayed message is retried (Will-Retry-Until). */
  retryUntil?: number;
  now: Date;
}

/** RFC 3463 status from a recorded reply: its own enhanced code, else the class of its basic code. */
export function statusOf(reply: string | undefined, action: DsnAction): string {
  const enhanced = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply ?? '');
  if (enhanced && !(action === 'failed' && enhanced[1]!.startsWith('4'))) return enhanced[1]!;
  if (action === 'failed') return /^4/.test(reply ?? '') ? '5.4.7' : '5.0.0'; // 5.4.7: delivery time expired
  return '4.0.0';
}

/** The server named in a reply we recorded: "... (mx.example.com [192.0.2.1])". */
export function remoteMtaOf(reply: string | undefined): string | null {
  const m = /\(([A-Za-z0-9.-]+) \[[0-9a-fA-F:.]+\](?:, TLS)?\)/.exec(reply ?? '');
  return m ? m[1]! : null;
}

/** Header and first two parts of the report; the caller appends the original header and the end. */
export function dsnHead(facts: DsnFacts, boundary: string): string {
  const { entry, action, reportingHost } = facts;
  const failed = action === 'failed';
  const lines = [
    ...generatedHeaderLines({
      host: reportingHost,
      to: entry.mailFrom,
      subject: failed ? 'Undelivered Mail Returned to Sender' : 'Delayed Mail (still being retried)',
      tag: `${entry.id}.${action}`,
      date: facts.now,
      autoSubmitted: 'auto-replied',
    }),
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    `This is the mail system at ${reportingHost}.`,
    '',
    failed
      ? 'Your message could not be delivered to one or more recipients. It is attached below (header only).'
      : `Your message has not been delivered yet to the recipients below. Nothing needs doing: delivery is retried until ${rfc5322Date(new Date(facts.retryUntil ?? facts.now.getTime()))}.`,
    '',
    ...facts.rcpts.map((r) => `<${r.address}>: ${r.lastReply ?? 'no reply recorded'}`),
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${reportingHost}`,
    `X-Yubin-Queue-ID: ${entry.id}`,
    `Arrival-Date: ${rfc5322Date(new Date(entry.received))}`,
    ...facts.rcpts.flatMap((r) => {
      const remote = remoteMtaOf(r.lastReply);
      return [
        '',
        ...(r.original !== r.address ? [`Original-Recipient: rfc822; ${r.original}`] : []),
        `Final-Recipient: rfc822; ${r.address}`,
        `Action: ${action}`,
        `Status: ${statusOf(r.lastReply, action)}`,
        ...(remote ? [`Remote-MTA: dns; ${remote}`] : []),
        ...(r.lastReply && /^\d{3}/.test(r.lastReply) ? [`Diagnostic-Code: smtp; ${r.lastReply}`] : []),
        `Last-Attempt-Date: ${rfc5322Date(facts.now)}`,
        ...(!failed && facts.retryUntil ? [`Will-Retry-Until: ${rfc5322Date(new Date(facts.retryUntil))}`] : []),
      ];
    }),
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    '',
  ];
  return lines.join('\r\n');
}

/** The whole DSN, in pieces: the head above, the original header read from `original`, the end. */
export async function* dsnMessage(facts: DsnFacts, original: Readable, maxHeaderBytes: number): AsyncGenerator<string | Buffer> {
  const boundary = `=_yubin_${randomBytes(8).toString('hex')}`;
  yield dsnHead(facts, boundary);
  yield await headerOf(original, maxHeaderBytes);
  yield `\r\n--${boundary}--\r\n`;
}

/** The header of a message (up to the empty line), cut at a line end when longer than `max`. */
export async function headerOf(stream: Readable, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parts.push(chunk);
      length += chunk.length;
      const joined = Buffer.concat(parts);
      const end = joined.indexOf('\r\n\r\n');
      if (end >= 0 && end + 2 <= max) return joined.subarray(0, end + 2);
      if (length >= max) break;
      parts.splice(0, parts.length, joined);
    }
  } finally {
    stream.destroy();
  }
  const joined = Buffer.concat(parts).subarray(0, max);
  const headEnd = joined.indexOf('\r\n\r\n');
  if (headEnd >= 0) return joined.subarray(0, headEnd + 2);
  const lastLine = joined.lastIndexOf('\r\n');
  return lastLine >= 0 ? joined.subarray(0, lastLine + 2) : Buffer.alloc(0);
}
