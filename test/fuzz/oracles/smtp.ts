// What an SMTP server may say (RFC 5321 §4.2, §4.5.3.1.5; RFC 3463 §2), and which RCPT a reply
// answers: replies come in command order, also pipelined (RFC 2920 §3.1), so in a session of
// clean lines the n-th reply after the greeting answers the n-th command.
import type { SmtpSession } from '../gen/smtp.ts';

export interface SmtpReply {
  code: number;
  lines: string[];
}

/** RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF. */
const MAX_REPLY_LINE = 512;

/** Complete replies in the output so far (the player waits on this). */
export function countReplies(out: Buffer): number {
  const m = out.toString('latin1').match(/(?<=^|\r\n)\d{3}(?: [^\r\n]*)?\r\n/g);
  return m ? m.length : 0;
}

/** Split the output into replies; every departure from the reply grammar is a problem. */
export function parseReplies(out: Buffer, mayEndMidLine: boolean): { replies: SmtpReply[]; problems: string[] } {
  const text = out.toString('latin1');
  const problems: string[] = [];
  const replies: SmtpReply[] = [];
  const lines = text.split('\r\n');
  const tail = lines.pop()!;
  if (tail !== '' && !mayEndMidLine) problems.push(`output ends without CRLF: ${JSON.stringify(tail.slice(0, 120))}`);
  let open: SmtpReply | null = null;
  for (const l of lines) {
    const m = /^([2-5]\d\d)([ -]|$)(.*)$/s.exec(l);
    if (!m) {
      problems.push(`not a reply line: ${JSON.stringify(l.slice(0, 160))}`);
      open = null;
      continue;
    }
    const code = Number(m[1]);
    const body = m[3]!;
    if (Buffer.byteLength(l, 'latin1') + 2 > MAX_REPLY_LINE) problems.push(`reply line of ${l.length + 2} octets (RFC 5321 §4.5.3.1.5: 512): ${JSON.stringify(l.slice(0, 120))}…`);
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(body)) problems.push(`control character in reply text: ${JSON.stringify(l.slice(0, 160))}`);
    const enhanced = /^([245])\.\d{1,3}\.\d{1,3}(?= |$)/.exec(body);
    if (enhanced && enhanced[1] !== m[1]![0]) problems.push(`enhanced status code class differs from the reply code: ${JSON.stringify(l.slice(0, 120))}`);
    if (open && open.code !== code) problems.push(`multi-line reply changes its code: ${open.code} then ${JSON.stringify(l.slice(0, 120))}`);
    const reply: SmtpReply = open ?? { code, lines: [] };
    reply.lines.push(body);
    if (m[2] === '-') open = reply;
    else {
      replies.push(reply);
      open = null;
    }
  }
  if (open && !mayEndMidLine) problems.push(`multi-line reply never ended: ${open.code}`);
  return { replies, problems };
}

/** The address of a RCPT command line as smtp-server takes it (smtp-connection.js _parseAddressCommand), source route dropped. */
export function rcptAddress(line: string): string | null {
  const colon = line.indexOf(':');
  if (colon < 0 || line.slice(0, colon).trim().toUpperCase() !== 'RCPT TO') return null;
  const token = line.slice(colon + 1).trim().split(/\s+/)[0] ?? '';
  if (!/^<[^<>]*>$/.test(token)) return null;
  return token.slice(1, -1).replace(/^@[^\s,:@]+(?:,@[^\s,:@]+)*:/, '');
}

/** Each RCPT whose reply is known, with that reply; walks until the pairing of lines and replies is uncertain. */
export function rcptReplies(s: SmtpSession, replies: SmtpReply[]): Array<{ line: string; reply: SmtpReply }> {
  const out: Array<{ line: string; reply: SmtpReply }> = [];
  let i = 1; // replies[0] is the greeting
  for (const step of s.steps) {
    if (step.kind === 'pause') continue;
    if (step.kind === 'bytes') break;
    if (step.kind === 'line') {
      if (step.ending !== 'crlf' || /[\r\n]/.test(step.text) || step.text.length > 4000) break;
      const reply = replies[i++];
      if (!reply) break;
      if (/^\s*rcpt to:/i.test(step.text)) out.push({ line: step.text, reply });
      // AUTH's challenge, STARTTLS's handshake, BDAT's chunk, QUIT, 421: what follows is not commands.
      if (reply.code === 334 || reply.code === 421 || reply.code === 221 || /^\s*(starttls|bdat)/i.test(step.text)) break;
      continue;
    }
    // DATA: its reply, then (only after 354) the reply to the end of the body.
    const reply = replies[i++];
    if (!reply || reply.code !== 354) break;
    const clean = step.body.kind === 'mail' || step.body.lines.every((l) => l.ending === 'crlf' && !/[\r\n]/.test(l.text) && !l.text.startsWith('.'));
    if (step.end !== 'dot' || !clean) break;
    if (!replies[i++]) break;
  }
  return out;
}
