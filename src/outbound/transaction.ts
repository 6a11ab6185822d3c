// One SMTP client session with one server address, carrying one message to every recipient of a
// group (RFC 5321 §3.3). The wire is nodemailer's SMTP client: it dot-stuffs and writes CRLF line
// ends (§4.5.2); the message streams from the spool file, never whole in memory.
import { createRequire } from 'node:module';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Readable } from 'node:stream';
import type { DeliveryResult } from '../qmgr/deliverer.ts';

// Required, not imported: nodemailer's ES module build imports node:http and node:https statically,
// and esbuild hoists such imports to the top of the bundle, so an idle board loaded them (undici,
// http2 and their kin came with node:http's namespace: ~2.6 MiB of idle RSS). Its CommonJS build
// requires them when this file is first loaded (the first delivery). The call keeps the literal
// form image/bundle.ts rewrites to a bundled require().
const SMTPClient = createRequire(import.meta.url)('nodemailer/lib/smtp-connection') as typeof SMTPConnection;

export type TlsMode = 'opportunistic' | 'required' | 'implicit';

export interface SessionTarget {
  /** IP address to connect to. */
  address: string;
  port: number;
  /** Host name, for SNI and for the replies we record. */
  name: string;
}

export interface SessionOptions {
  heloName: string;
  tls: TlsMode;
  auth?: { user: string; pass: string };
  connectTimeoutMs: number;
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
  localAddress?: string;
}

export interface Envelope {
  /** '' for the null sender (bounces). */
  from: string;
  to: string[];
  size: number;
}

export type SessionOutcome =
  /** The server answered the transaction: one result per recipient, in envelope order. */
  | { kind: 'answered'; tls: boolean; results: DeliveryResult[] }
  /** No transaction took place or it broke off without a reply: try the next address, or later. */
  | { kind: 'unreachable'; reply: string };

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  recipient?: string;
  rejectedErrors?: SmtpError[];
}

/** Connect, greet, TLS as `options.tls` asks, AUTH when given: the open client, or why not. */
async function open(target: SessionTarget, options: SessionOptions): Promise<{ conn: SMTPConnection; where: string } | { reply: string; conn: SMTPConnection }> {
  const where = `${target.name} [${target.address}]`;
  const conn = new SMTPClient({
    host: target.address,
    port: target.port,
    name: options.heloName,
    secure: options.tls === 'implicit',
    requireTLS: options.tls === 'required',
    opportunisticTLS: options.tls === 'opportunistic',
    // MTAs encrypt opportunistically without verifying: a self-signed certificate still beats cleartext (RFC 7435).
    tls: { rejectUnauthorized: false, ...(isName(target.name) ? { servername: target.name } : {}) },
    connectionTimeout: options.connectTimeoutMs,
    greetingTimeout: options.greetingTimeoutMs,
    socketTimeout: options.socketTimeoutMs,
    socketCloseTimeout: 1000,
    logger: false,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  conn.on('error', () => undefined); // every error also reaches the callback of the step that failed
  // A refused or failed connection arrives as an 'error' event, not through connect's callback.
  const connectError = await new Promise<SmtpError | undefined>((resolve) => {
    conn.once('error', (err: SmtpError) => resolve(err));
    conn.once('end', () => resolve(new Error('connection closed before the session began')));
    conn.connect((err) => resolve(err as SmtpError | undefined));
  });
  if (connectError) return { conn, reply: unreachableReply(connectError, where, options.tls) };
  if (options.auth) {
    if (!conn.secure) return { conn, reply: `454 4.7.0 ${where} offered no TLS; the AUTH password is never sent in the clear` };
    const loginError = await new Promise<SmtpError | null>((resolve) => conn.login({ user: options.auth!.user, pass: options.auth!.pass }, (err) => resolve(err as SmtpError | null)));
    if (loginError) return { conn, reply: `454 4.7.0 AUTH at ${where} failed: ${firstLine(loginError.response ?? loginError.message)}` };
  }
  return { conn, where };
}

export async function runSession(target: SessionTarget, options: SessionOptions, envelope: Envelope, message: () => Readable): Promise<SessionOutcome> {
  const opened = await open(target, options);
  const conn = opened.conn;
  try {
    if ('reply' in opened) return { kind: 'unreachable', reply: opened.reply };
    const tls = conn.secure;
    const sent = await new Promise<{ err: SmtpError | null; info?: SMTPConnection.SentMessageInfo }>((resolve) =>
      conn.send({ from: envelope.from, to: envelope.to, size: envelope.size, use8BitMime: true }, message(), (err, info) => resolve({ err: err as SmtpError | null, info })),
    );
    conn.quit();
    return sent.err
      ? failedTransaction(sent.err, envelope, opened.where, tls)
      : { kind: 'answered', tls, results: envelope.to.map((rcpt) => resultFor(rcpt, sent.info!, opened.where, tls)) };
  } finally {
    setTimeout(() => conn.close(), 1000).unref(); // let QUIT go out; never leak the socket
  }
}

/** Open a session as a delivery would (TLS, AUTH) and QUIT: whether a relay hop takes us. */
export async function probeSession(target: SessionTarget, options: SessionOptions): Promise<{ ok: true; tls: boolean } | { ok: false; reply: string }> {
  const opened = await open(target, options);
  const conn = opened.conn;
  try {
    if ('reply' in opened) return { ok: false, reply: opened.reply };
    conn.quit();
    return { ok: true, tls: conn.secure };
  } finally {
    setTimeout(() => conn.close(), 1000).unref();
  }
}

function resultFor(rcpt: string, info: SMTPConnection.SentMessageInfo, where: string, tls: boolean): DeliveryResult {
  const rejected = (info.rejectedErrors as SmtpError[] | undefined)?.find((e) => e.recipient === rcpt);
  if (rejected) return fromReply(rejected.response ?? rejected.message, where);
  return { status: 'delivered', reply: `${firstLine(info.response)} (${where}${tls ? ', TLS' : ''})` };
}

function failedTransaction(err: SmtpError, envelope: Envelope, where: string, tls: boolean): SessionOutcome {
  if (!err.responseCode) return { kind: 'unreachable', reply: `451 4.4.2 ${where}: ${firstLine(err.message)}` };
  // Every recipient refused: each keeps its own reply (one may be 550, another 452).
  if (err.rejectedErrors && err.rejectedErrors.length > 0) {
    return {
      kind: 'answered',
      tls,
      results: envelope.to.map((rcpt) => {
        const own = err.rejectedErrors!.find((e) => e.recipient === rcpt);
        return fromReply(own?.response ?? err.response ?? err.message, where);
      }),
    };
  }
  // MAIL FROM or the message itself refused: the one reply holds for all.
  const result = fromReply(err.response ?? err.message, where);
  return { kind: 'answered', tls, results: envelope.to.map(() => result) };
}

/** A server reply as a recipient result: 2xx delivered, 5xx failed for good, anything else later. */
export function fromReply(reply: string, where: string): DeliveryResult {
  const text = `${firstLine(reply)} (${where})`;
  if (/^2\d\d/.test(reply)) return { status: 'delivered', reply: text };
  if (/^5\d\d/.test(reply)) return { status: 'failed', reply: text };
  if (/^4\d\d/.test(reply)) return { status: 'deferred', reply: text };
  return { status: 'deferred', reply: `451 4.5.0 ${where} answered out of protocol: ${firstLine(reply)}` };
}

function unreachableReply(err: SmtpError & { command?: string }, where: string, tls: TlsMode): string {
  if (tls === 'required' && (err.code === 'ETLS' || /STARTTLS/i.test(err.command ?? '') || /TLS/.test(err.message))) {
    return `451 4.7.10 ${where} offered no usable STARTTLS and TLS is required: ${firstLine(err.response ?? err.message)}`;
  }
  if (err.response && /^[45]\d\d/.test(err.response)) return `${firstLine(err.response)} (${where})`;
  return `451 4.4.1 ${where}: ${firstLine(err.message)}`;
}

function firstLine(text: string): string {
  return (text.split(/\r?\n/)[0] ?? '').slice(0, 500);
}

function isName(host: string): boolean {
  return /[a-z]/i.test(host) && !host.includes(':');
}
