// Fuzz inputs for the SMTP session, the POP3 session and the console language: random bytes and
// grammar-based sessions (real commands with random arguments, long lines, bare CR/LF, pipelining,
// abrupt closes). A case is a list of steps played against one fresh connection.
import type { Random } from './random.ts';

export type Step =
  | { kind: 'send'; bytes: Buffer }
  /** Wait for the server's next output (bounded by the runner). */
  | { kind: 'read' }
  | { kind: 'pause'; ms: number };

export interface FuzzCase {
  steps: Step[];
  /** How the client leaves: QUIT-less half close, or a reset in mid-flight. */
  close: 'end' | 'destroy';
}

const ENDINGS = ['\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r', '', '\r\r\n', '\n\r'];

function line(r: Random, text: string): Buffer {
  return Buffer.from(text + r.pick(ENDINGS), 'latin1');
}

/** Addresses and near-addresses: routing tricks, quoting, literals, UTF-8, overlong. */
function address(r: Random): string {
  const forms = [
    () => 'alice@yubin.test',
    () => `${r.text(r.int(0, 20))}@yubin.test`,
    () => 'user%other.example@yubin.test',
    () => 'user!host@yubin.test',
    () => '@relay.example:user@other.example',
    () => '"a@b"@yubin.test',
    () => 'user@[127.0.0.1]',
    () => 'user@[IPv6:::1]',
    () => 'user@127.0.0.1',
    () => 'user@',
    () => 'user@yubin.test.',
    () => 'ユーザー@yubin.test',
    () => `${'a'.repeat(r.int(60, 3000))}@yubin.test`,
    () => `x@${'d.'.repeat(r.int(1, 200))}example`,
    () => r.text(r.int(0, 80)),
    () => '',
  ];
  return r.pick(forms)();
}

const SMTP_PARAMS = ['', ' SIZE=1000', ' SIZE=99999999999999', ' SIZE=-1', ' BODY=8BITMIME', ' BODY=BINARYMIME', ' SMTPUTF8', ' RET=FULL', ' X=Y', ' AUTH=<>', ' =', ' SIZE='];

function smtpCommand(r: Random): string {
  const verbs: Array<() => string> = [
    () => `EHLO ${r.pick(['client.example', '', '[127.0.0.1]', r.text(r.int(0, 300))])}`,
    () => `HELO ${r.pick(['client.example', '', r.text(r.int(0, 100))])}`,
    () => `MAIL FROM:<${address(r)}>${r.pick(SMTP_PARAMS)}`,
    () => `MAIL FROM:${address(r)}`,
    () => `RCPT TO:<${address(r)}>${r.pick(SMTP_PARAMS)}`,
    () => `RCPT TO:${address(r)}`,
    () => 'DATA',
    () => `BDAT ${r.int(-5, 100000)}${r.pick(['', ' LAST'])}`,
    () => 'RSET',
    () => `NOOP ${r.text(r.int(0, 10))}`,
    () => `VRFY ${address(r)}`,
    () => `EXPN ${r.text(10)}`,
    () => 'HELP',
    () => 'STARTTLS',
    () => `AUTH ${r.pick(['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2', r.text(5)])}${r.pick(['', ' ' + Buffer.from(r.text(r.int(0, 60))).toString('base64'), ' =', ' ' + r.text(20)])}`,
    () => r.pick(['*', '=', 'AGFsaWNlAHg=', '']),
    () => 'QUIT',
    () => r.text(r.int(1, 40)),
    () => r.pick(['mail from:<alice@yubin.test>', 'rcpt to:<alice@yubin.test>', 'ehlo x']),
  ];
  return r.pick(verbs)();
}

/** A DATA body: dot lines, early ends, bare line ends, long lines, NULs. */
function dataBody(r: Random): Buffer {
  const parts: string[] = [`Subject: fuzz ${r.int(0, 1e9)}\r\n\r\n`];
  for (let i = r.int(0, 20); i > 0; i--) {
    parts.push(
      r.pick([
        () => r.text(r.int(0, 200)) + '\r\n',
        () => '.\r\n',
        () => '..\r\n',
        () => '.\n',
        () => '\n.\n',
        () => '\r.\r',
        () => 'x'.repeat(r.int(990, 20000)) + '\r\n',
        () => '\0\0\r\n',
        () => 'From: <' + address(r) + '>\r\n',
      ])(),
    );
  }
  return Buffer.from(parts.join(''), 'latin1');
}

export function smtpCase(r: Random): FuzzCase {
  const steps: Step[] = [{ kind: 'read' }];
  const mode = r.next();
  if (mode < 0.15) {
    // Random bytes, in a few writes.
    for (let i = r.int(1, 4); i > 0; i--) steps.push({ kind: 'send', bytes: r.bytes(r.int(1, 4096)) });
  } else if (mode < 0.22) {
    // One oversized line.
    steps.push({ kind: 'send', bytes: line(r, r.pick(['EHLO ', 'MAIL FROM:<', 'NOOP ', '']) + 'A'.repeat(r.int(513, 200_000))) });
  } else {
    // A session by the grammar, sometimes pipelined (several commands in one write).
    const session: Buffer[] = [];
    if (r.chance(0.8)) session.push(line(r, 'EHLO fuzz.example'));
    if (r.chance(0.6)) session.push(line(r, `MAIL FROM:<${r.chance(0.5) ? 'fuzz@outside.example' : address(r)}>`), line(r, `RCPT TO:<${r.chance(0.6) ? 'alice@yubin.test' : address(r)}>`));
    for (let i = r.int(0, 12); i > 0; i--) session.push(line(r, smtpCommand(r)));
    if (r.chance(0.4)) session.push(line(r, 'DATA'), dataBody(r), Buffer.from(r.chance(0.8) ? '.\r\n' : ''));
    if (r.chance(0.3)) session.push(line(r, 'QUIT'));
    const pipelined = r.chance(0.4);
    for (const bytes of session) {
      steps.push({ kind: 'send', bytes });
      if (!pipelined && r.chance(0.7)) steps.push({ kind: 'read' });
    }
  }
  if (r.chance(0.1)) steps.push({ kind: 'pause', ms: r.int(1, 200) });
  return { steps, close: r.chance(0.3) ? 'destroy' : 'end' };
}

function pop3Command(r: Random): string {
  const n = () => String(r.pick([1, 2, 3, 0, -1, r.int(4, 100), 4294967296, r.text(3)]));
  const verbs: Array<() => string> = [
    () => `USER ${r.pick(['alice', 'nobody', '', r.text(r.int(0, 300))])}`,
    () => `PASS ${r.pick(['alice-password-1', 'wrong', '', r.text(r.int(0, 300))])}`,
    () => `APOP ${r.pick(['alice', r.text(10)])} ${r.pick(['0123456789abcdef0123456789abcdef', r.text(32), ''])}`,
    () => 'STAT',
    () => `LIST${r.pick(['', ' ' + n()])}`,
    () => `RETR ${n()}`,
    () => `TOP ${n()} ${n()}`,
    () => `DELE ${n()}`,
    () => `UIDL${r.pick(['', ' ' + n()])}`,
    () => 'NOOP',
    () => 'RSET',
    () => 'CAPA',
    () => 'STLS',
    () => `AUTH ${r.pick(['', 'PLAIN', 'PLAIN ' + Buffer.from('\0alice\0alice-password-1').toString('base64'), 'LOGIN', r.text(8)])}`,
    () => '*',
    () => 'QUIT',
    () => r.text(r.int(1, 40)),
  ];
  return r.pick(verbs)();
}

export function pop3Case(r: Random): FuzzCase {
  const steps: Step[] = [{ kind: 'read' }];
  const mode = r.next();
  if (mode < 0.15) {
    for (let i = r.int(1, 4); i > 0; i--) steps.push({ kind: 'send', bytes: r.bytes(r.int(1, 4096)) });
  } else if (mode < 0.22) {
    steps.push({ kind: 'send', bytes: line(r, r.pick(['USER ', 'PASS ', 'LIST ', '']) + 'B'.repeat(r.int(256, 100_000))) });
  } else {
    const session: Buffer[] = [];
    // Often log in for real, so the TRANSACTION state is fuzzed too.
    if (r.chance(0.5)) session.push(line(r, 'USER alice'), line(r, 'PASS alice-password-1'));
    for (let i = r.int(1, 12); i > 0; i--) session.push(line(r, pop3Command(r)));
    const pipelined = r.chance(0.4);
    for (const bytes of session) {
      steps.push({ kind: 'send', bytes });
      if (!pipelined && r.chance(0.7)) steps.push({ kind: 'read' });
    }
  }
  return { steps, close: r.chance(0.3) ? 'destroy' : 'end' };
}

/** Settings the console may try to change: not the ones that take the console or listeners away. */
const CONSOLE_KEYS = ['hostname', 'smtp.maxSize', 'smtp.maxRecipients', 'spam.threshold', 'queue.retryMinutes', 'domains', 'trustedNetworks', 'no.such.key', 'alerts.queueBacklog', 'archive.enabled', ''];

/** One console input line (no line end). */
export function consoleLine(r: Random): string {
  const forms: Array<() => string> = [
    () => 'help',
    () => `help ${r.text(r.int(0, 12))}`,
    () => `show ${r.pick(['', 'config', 'status', 'alerts', 'queue', 'users', r.text(6)])}`,
    () => `set ${r.pick(CONSOLE_KEYS)} ${r.pick(['', '0', '-1', '99999999999999999999', 'yes', 'example.test', '"a b"', "'", r.text(r.int(0, 200))])}`,
    () => r.pick(['commit', 'discard']),
    () => `config ${r.pick(['get', 'set', 'show', 'list', r.text(4)])} ${r.pick(CONSOLE_KEYS)} ${r.text(r.int(0, 20))}`,
    () => `user ${r.pick(['list', 'add', 'del', 'show', 'quota', r.text(4)])} ${r.pick(['', 'bob', r.text(r.int(0, 40))])}`,
    () => `domain ${r.pick(['list', 'add', 'del'])} ${r.pick(['', 'x.example', r.text(20)])}`,
    () => `alias ${r.pick(['list', 'add', 'del'])} ${r.text(r.int(0, 20))} ${r.text(r.int(0, 20))}`,
    () => `alert ${r.pick(['ack', 'list', ''])} ${r.pick(['', '1', '-1', r.text(5)])}`,
    () => `queue ${r.pick(['list', 'show', 'flush', 'hold', 'release', 'delete', 'cancel', ''])} ${r.pick(['', 'ABC', r.text(20)])}`,
    () => `archive ${r.pick(['search', 'export', ''])} ${r.text(r.int(0, 30))}`,
    () => `quarantine ${r.pick(['list', 'show', 'release', 'delete', ''])} ${r.text(r.int(0, 20))}`,
    () => `check ${r.pick(['spf', 'dkim', 'dmarc', 'arc', ''])} ${r.text(r.int(0, 30))}`,
    () => `dkim ${r.pick(['keygen', 'show', 'list', ''])} ${r.text(r.int(0, 10))}`,
    () => r.text(r.int(0, 80)),
    () => 'x'.repeat(r.int(1000, 5000)),
    () => '"unterminated ' + r.text(10),
    () => '\x1b[A\x1b[B\x7f\x7f\x08' + r.text(5),
    () => r.bytes(r.int(1, 200)).toString('latin1').replace(/[\x03\x04\r\n]/g, ''),
  ];
  return r.pick(forms)();
}
