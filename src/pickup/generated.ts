// The header of every message Yubin writes itself (bounces, delay, hold and cancel notices): from
// the mail system, marked automatic so that no responder answers it (RFC 3834 §5).
import { randomBytes } from 'node:crypto';

export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace('GMT', '+0000');
}

export interface GeneratedHeader {
  host: string;
  to: string;
  subject: string;
  /** A word for the Message-ID, e.g. the queue ID and the kind of notice. */
  tag: string;
  date: Date;
  /** auto-replied for a report about a message (DSN), auto-generated for the rest. */
  autoSubmitted: 'auto-replied' | 'auto-generated';
}

export function generatedHeaderLines(h: GeneratedHeader): string[] {
  return [
    `From: Mail Delivery System <MAILER-DAEMON@${h.host}>`,
    `To: <${h.to}>`,
    `Subject: ${h.subject.replace(/[\r\n]+/g, ' ')}`,
    `Date: ${rfc5322Date(h.date)}`,
    `Message-ID: <${h.tag}.${randomBytes(4).toString('hex')}@${h.host}>`,
    `Auto-Submitted: ${h.autoSubmitted}`,
    'MIME-Version: 1.0',
  ];
}

/** A short text/plain notice, whole (a few hundred bytes), CRLF line ends. */
export function plainNotice(h: GeneratedHeader, body: string[]): string {
  return [...generatedHeaderLines(h), 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', ...body, ''].join('\r\n');
}
