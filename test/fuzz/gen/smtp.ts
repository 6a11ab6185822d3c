// SMTP client sessions: the commands of RFC 5321 and its extensions with hostile arguments
// (routing tricks from gen/address.ts, bad parameters, overlong lines), DATA with structured
// mail (gen/mail.ts) or with bad bodies (dot lines, early ends, bare CR/LF, NULs), pipelining.
import fc from 'fast-check';
import { envelopeAddress } from './address.ts';
import { mail, renderMail, type MailSpec } from './mail.ts';
import { ENDINGS, line, noise, oddText, longText, session, type Line, type Session, type Step } from './session.ts';

export type DataEnd = 'dot' | 'none' | 'lf-dot-lf' | 'cr-dot-cr' | 'dot-lf';

/** DATA, then a body and its end: a rendered message (dot-stuffed) or lines as they are. */
export interface Data {
  kind: 'data';
  body: { kind: 'mail'; mail: MailSpec } | { kind: 'lines'; lines: Line[] };
  end: DataEnd;
}

export type SmtpStep = Step<Data>;
export type SmtpSession = Session<SmtpStep>;

const PARAMS = ['', ' SIZE=1000', ' SIZE=99999999999999', ' SIZE=-1', ' BODY=8BITMIME', ' BODY=BINARYMIME', ' SMTPUTF8', ' RET=FULL', ' X=Y', ' AUTH=<>', ' =', ' SIZE=', ' NOTIFY=NEVER', ' SMTPUTF8 BODY=8BITMIME'];
const param = fc.constantFrom(...PARAMS);
const b64 = (s: string) => Buffer.from(s).toString('base64');

const command: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('EHLO', 'HELO', 'ehlo', 'LHLO'), fc.oneof(fc.constantFrom('client.example', '', '[127.0.0.1]', '[IPv6:::1]', 'yubin.test'), oddText(80))).map(([v, a]) => `${v} ${a}`) },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('MAIL FROM:<', 'MAIL FROM: <', 'mail from:<'), envelopeAddress, param).map(([v, a, p]) => `${v}${a}>${p}`) },
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom('RCPT TO:<', 'RCPT TO: <', 'rcpt to:<'), envelopeAddress, param).map(([v, a, p]) => `${v}${a}>${p}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('MAIL FROM:', 'RCPT TO:'), envelopeAddress).map(([v, a]) => `${v}${a}`) },
  { weight: 1, arbitrary: fc.constantFrom('DATA', 'RSET', 'NOOP', 'HELP', 'QUIT', 'STARTTLS', 'BDAT 10', 'BDAT 0 LAST', 'BDAT -5', 'TURN', 'ETRN yubin.test', 'XCLIENT ADDR=127.0.0.1', 'XFORWARD ADDR=1.2.3.4', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('VRFY', 'EXPN', 'NOOP', 'HELP'), envelopeAddress).map(([v, a]) => `${v} ${a}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('AUTH PLAIN', 'AUTH LOGIN', 'AUTH CRAM-MD5', 'AUTH XOAUTH2', 'AUTH'), fc.constantFrom('', ` ${b64('\0alice\0alice-password-1')}`, ' =', ' *', ` ${b64('x'.repeat(3000))}`)).map(([v, a]) => v + a) },
  { weight: 1, arbitrary: fc.constantFrom('*', '=', 'AGFsaWNlAHg=', '') },
  { weight: 1, arbitrary: oddText(60) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('EHLO ', 'MAIL FROM:<', 'NOOP ', 'RCPT TO:<', ''), longText).map(([v, a]) => v + a) },
);

const bodyLine = line(
  fc.oneof(
    { weight: 3, arbitrary: oddText(100) },
    { weight: 2, arbitrary: fc.constantFrom('.', '..', '.\n', '\n.\n', '\r.\r', 'Subject: x', '', 'From: <alice@yubin.test>', '\0\0') },
    { weight: 1, arbitrary: longText },
  ),
);

const data: fc.Arbitrary<Data> = fc.record({
  kind: fc.constant('data' as const),
  body: fc.oneof(
    { weight: 3, arbitrary: mail.map((m) => ({ kind: 'mail' as const, mail: m })) },
    { weight: 2, arbitrary: fc.array(bodyLine, { maxLength: 20 }).map((lines) => ({ kind: 'lines' as const, lines })) },
  ),
  end: fc.oneof({ weight: 10, arbitrary: fc.constant('dot' as const) }, { weight: 1, arbitrary: fc.constantFrom('none' as const, 'lf-dot-lf' as const, 'cr-dot-cr' as const, 'dot-lf' as const) }),
});

const step: fc.Arbitrary<SmtpStep> = fc.oneof(
  { weight: 12, arbitrary: line(command) },
  { weight: 3, arbitrary: data },
  { weight: 1, arbitrary: noise },
);

/** A plausible start (greeting, sender, one recipient) most of the time, so the later steps reach DATA. */
const start: fc.Arbitrary<SmtpStep[]> = fc.tuple(
  fc.boolean(),
  fc.oneof(fc.constant('sender@outside.example'), envelopeAddress),
  fc.oneof(fc.constant('alice@yubin.test'), envelopeAddress),
  fc.nat({ max: 4 }),
).map(([ehlo, from, to, shape]) => {
  if (shape === 0) return [];
  const crlf = (text: string): Line => ({ kind: 'line', text, ending: 'crlf' });
  const out: SmtpStep[] = [crlf(ehlo ? 'EHLO fuzz.example' : 'HELO fuzz.example')];
  if (shape >= 2) out.push(crlf(`MAIL FROM:<${from}>`), crlf(`RCPT TO:<${to}>`));
  return out;
});

export const smtpSession: fc.Arbitrary<SmtpSession> = session(step, start, 10);

const DATA_ENDS: Record<DataEnd, string> = { dot: '\r\n.\r\n', none: '', 'lf-dot-lf': '\n.\n', 'cr-dot-cr': '\r.\r', 'dot-lf': '\r\n.\n' };

/** Lines starting with "." get another (RFC 5321 §4.5.2); the rendered text is CRLF-terminated. */
function dotStuff(text: Buffer): Buffer {
  const s = text.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(s.endsWith('\r\n') ? s.slice(0, -2) : s, 'latin1');
}

/** The bytes of one step, in the order they go out; DATA is its command and its body. */
export async function stepBytes(s: SmtpStep): Promise<Buffer[]> {
  switch (s.kind) {
    case 'line': return [Buffer.from(s.text + ENDINGS[s.ending], 'latin1')];
    case 'bytes': return [Buffer.from(s.bytes)];
    case 'pause': return [];
    case 'data': {
      const body = s.body.kind === 'mail'
        ? dotStuff(await renderMail(s.body.mail))
        : Buffer.from(s.body.lines.map((l) => l.text + ENDINGS[l.ending]).join('').replace(/\r\n$/, ''), 'latin1');
      return [Buffer.from('DATA\r\n'), Buffer.concat([body, Buffer.from(DATA_ENDS[s.end])])];
    }
  }
}
