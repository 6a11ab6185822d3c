// One POP3 session, read top-down like RFC 1939: the greeting (§4), the AUTHORIZATION state
// (§7 USER/PASS, §7 APOP, RFC 5034 AUTH, RFC 2595 STLS), the TRANSACTION state (§5), and the
// UPDATE state (§6) entered only by QUIT. CAPA and response codes follow RFC 2449 and RFC 3206.
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from '../context.ts';
import { LineReader } from './lines.ts';
import { apopTimestamp, apopMatches } from './apop.ts';
import { Maildrop, type DropMessage } from './maildrop.ts';
import { DotStuffer } from './stuffing.ts';
import type { MessageFile } from './message-file.ts';
import { startTls } from './tls.ts';
import type { MaildropLocks } from './locks.ts';
import type { LoginThrottle, LoginSource } from '../anvil/login-throttle.ts';
import { loginLimits } from '../anvil/limits.ts';
import { maildirOf } from '../maildir/maildir.ts';

type State = 'AUTHORIZATION' | 'TRANSACTION' | 'UPDATE';

/** RFC 2449 §4: a command line is at most 255 octets with its CRLF. */
const MAX_COMMAND = 253;
/** SASL responses (RFC 5034 §4) may be longer than a command; PLAIN with 255-octet fields fits. */
const MAX_LINE = 1024;
/** Bad or refused commands before the session is closed. */
const MAX_BAD_COMMANDS = 10;
const TLS_HANDSHAKE_MS = 30_000;

export interface SessionDeps {
  readonly ctx: Context;
  readonly locks: MaildropLocks;
  /** The login brake shared with SMTP AUTH and the console. */
  readonly throttle: LoginThrottle;
  /** Whether the client is in trustedNetworks (never locked out as a whole). */
  readonly trusted?: boolean;
  /** Null when no certificate is configured: STLS is then not offered. */
  readonly secureContext: SecureContext | null;
  /** The autologout timer, before and after login (shorter before it under stress); pop3.idleTimeout when absent. */
  readonly idleTimeoutMs?: (loggedIn: boolean) => number;
  /** The POP3S port actually listening, if any (named in the cleartext refusal). */
  readonly tlsPort?: () => number | undefined;
  /** Called once the session has logged in (the connection gate no longer preempts it). */
  readonly onLogin?: () => void;
}

/** What the peer hears when a command fails: the text after "-ERR ". */
class Refusal extends Error {}

export class Pop3Session {
  readonly client: string;
  readonly #deps: SessionDeps;
  readonly #ctx: Context;
  #socket: Socket;
  #tls: boolean;
  readonly #reader = new LineReader(MAX_LINE);
  readonly #timestamp: string;
  readonly #abort = new AbortController();
  #state: State = 'AUTHORIZATION';
  /** Name given by USER, waiting for PASS. */
  #pendingUser: string | null = null;
  #user: string | null = null;
  #maildrop: Maildrop | null = null;
  /** The message after the last one retrieved, opened with its first chunk read (see #readAhead). */
  #ahead: { readonly n: number; readonly file: Promise<MessageFile> } | null = null;
  #release: (() => void) | null = null;
  #badCommands = 0;
  #closed = false;

  constructor(socket: Socket, client: string, tls: boolean, deps: SessionDeps) {
    this.#socket = socket;
    this.client = client;
    this.#tls = tls;
    this.#deps = deps;
    this.#ctx = deps.ctx;
    this.#timestamp = apopTimestamp(this.#ctx.store.get('hostname'));
    this.#watch(socket);
  }

  /** Greet, then answer commands until QUIT, the peer leaves, or the autologout timer fires. */
  async run(): Promise<void> {
    try {
      // §4 and §7: the APOP timestamp is the last thing on the greeting line.
      await this.#send(`+OK Yubin POP3 server ready ${this.#timestamp}\r\n`);
      while (!this.#closed) {
        const line = await this.#reader.next();
        if (line === null) break;
        if (line.kind === 'overlong' || line.text.length > MAX_COMMAND) {
          await this.#bad('Command line too long (RFC 2449: at most 255 octets)');
          continue;
        }
        await this.#command(line.text);
      }
    } catch (err) {
      if (!this.#closed) this.#ctx.log.log('warn', 'pop3 session failed', { client: this.client, error: (err as Error).message });
    } finally {
      this.#finish();
    }
  }

  /** Close at once without UPDATE (service stop): nothing marked deleted is removed. */
  shutdown(reason: string): void {
    if (this.#closed) return;
    this.#socket.write(`-ERR [SYS/TEMP] ${reason}\r\n`);
    this.#finish();
  }

  // --- commands -------------------------------------------------------------------------------

  async #command(text: string): Promise<void> {
    // §3: a keyword of 3-4 characters, case-insensitive, then arguments separated by spaces.
    const space = text.indexOf(' ');
    const keyword = (space === -1 ? text : text.slice(0, space)).toUpperCase();
    const rest = space === -1 ? '' : text.slice(space + 1);
    const args = rest === '' ? [] : rest.split(' ');
    try {
      const done = await this.#dispatch(keyword, args, rest);
      if (!done) await this.#bad(`Unknown command or not valid in the ${this.#state} state`);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      await this.#bad(err.message);
    }
  }

  /** Run one command; false when the keyword is unknown in this state. */
  async #dispatch(keyword: string, args: string[], rest: string): Promise<boolean> {
    if (keyword === 'QUIT') return this.#quit().then(() => true);
    if (keyword === 'CAPA') return this.#capa().then(() => true);
    if (keyword === 'NOOP' && this.#state === 'TRANSACTION') return this.#ok('').then(() => true);
    if (this.#state === 'AUTHORIZATION') {
      switch (keyword) {
        case 'USER': return this.#userCmd(args).then(() => true);
        case 'PASS': return this.#passCmd(rest).then(() => true);
        case 'APOP': return this.#apopCmd(args).then(() => true);
        case 'AUTH': return this.#authCmd(args).then(() => true);
        case 'STLS': return this.#stlsCmd().then(() => true);
      }
      return false;
    }
    if (this.#state === 'TRANSACTION') {
      switch (keyword) {
        case 'STAT': return this.#statCmd(args).then(() => true);
        case 'LIST': return this.#listCmd(args, (n, m) => `${n} ${m.entry.size}`).then(() => true);
        case 'UIDL': return this.#listCmd(args, (n, m) => `${n} ${m.uid}`).then(() => true);
        case 'RETR': return this.#retrCmd(args).then(() => true);
        case 'TOP': return this.#topCmd(args).then(() => true);
        case 'DELE': return this.#deleCmd(args).then(() => true);
        case 'RSET': return this.#rsetCmd(args).then(() => true);
      }
    }
    return false;
  }

  /** RFC 2449 §5: what this server can do, in this state, on this connection. */
  async #capa(): Promise<void> {
    const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
    if (this.#state === 'AUTHORIZATION') {
      if (this.#cleartextAllowed()) lines.push('USER', 'SASL PLAIN');
      if (!this.#tls && this.#deps.secureContext) lines.push('STLS');
    }
    lines.push('IMPLEMENTATION Yubin');
    await this.#send(`+OK Capability list follows\r\n${lines.join('\r\n')}\r\n.\r\n`);
  }

  // AUTHORIZATION ------------------------------------------------------------------------------

  /** USER and PASS (§7) and AUTH PLAIN send the password itself: only over TLS unless allowed. */
  #cleartextAllowed(): boolean {
    return this.#tls || this.#ctx.store.get('pop3.allowCleartext');
  }

  #requireCleartextAllowed(): void {
    if (!this.#cleartextAllowed()) {
      const port = this.#deps.tlsPort?.();
      throw new Refusal(`[AUTH] Cleartext logins are disabled on an unencrypted connection; use ${this.#deps.secureContext ? `STLS, ${port ? `port ${port} (POP3S), ` : ''}` : ''}or APOP`);
    }
  }

  async #userCmd(args: string[]): Promise<void> {
    this.#requireCleartextAllowed();
    const name = args[0];
    if (args.length !== 1 || !name) throw new Refusal('Usage: USER name');
    // The same answer for every name, known or not (RFC 1939 §13 security considerations).
    this.#pendingUser = name;
    await this.#ok(`Send PASS for ${shown(name)}`);
  }

  async #passCmd(password: string): Promise<void> {
    this.#requireCleartextAllowed();
    const name = this.#pendingUser;
    this.#pendingUser = null;
    if (name === null) throw new Refusal('Send USER first');
    if (password === '') throw new Refusal('Usage: PASS password');
    await this.#login(name, () => this.#ctx.users.authenticate(name, password));
  }

  async #apopCmd(args: string[]): Promise<void> {
    const [name, digest] = args;
    if (args.length !== 2 || !name || !digest) throw new Refusal('Usage: APOP name digest');
    await this.#login(name, async () => {
      const secret = await this.#ctx.users.apopSecret(name);
      return apopMatches(this.#timestamp, secret, digest) ? name.toLowerCase() : null;
    });
  }

  /** RFC 5034 AUTH with the one mechanism that fits: PLAIN (RFC 4616), over TLS. */
  async #authCmd(args: string[]): Promise<void> {
    const mechanism = args[0]?.toUpperCase();
    if (mechanism === undefined) {
      // The RFC 1734 form some clients still send to list mechanisms.
      await this.#send(`+OK SASL mechanisms follow\r\n${this.#cleartextAllowed() ? 'PLAIN\r\n' : ''}.\r\n`);
      return;
    }
    if (mechanism !== 'PLAIN' || args.length > 2) throw new Refusal(`Unsupported SASL mechanism ${shown(args[0] ?? '')}; this server offers PLAIN`);
    this.#requireCleartextAllowed();
    let response = args[1];
    if (response === undefined) {
      // §4: an empty challenge; the client answers with one base64 line, or "*" to cancel.
      await this.#send('+ \r\n');
      const line = await this.#reader.next();
      if (line === null) return;
      if (line.kind === 'overlong') throw new Refusal('SASL response too long');
      response = line.text;
    }
    if (response === '*') throw new Refusal('SASL authentication cancelled');
    const fields = decodePlain(response);
    if (fields === null) throw new Refusal('Malformed SASL PLAIN response (RFC 4616: base64 of authzid NUL authcid NUL password)');
    const { authzid, authcid, password } = fields;
    await this.#login(authcid, async () => {
      const user = await this.#ctx.users.authenticate(authcid, password);
      // No proxy logins: an authorization identity other than oneself fails like a bad password.
      return user !== null && (authzid === '' || authzid.toLowerCase() === user) ? user : null;
    });
  }

  /**
   * The one path every login takes: lockout check, the credential check, the same reply for an
   * unknown user and a bad password after a growing delay, then the maildrop lock (§4) and
   * TRANSACTION. `verify` returns the canonical user name, or null.
   */
  async #login(name: string, verify: () => Promise<string | null>): Promise<void> {
    const { throttle } = this.#deps;
    const limits = loginLimits(this.#ctx.store);
    const source: LoginSource = { address: this.client, trusted: this.#deps.trusted ?? false };
    // One attempt at a time from an outside address, failure delay included (src/anvil/).
    const user = await throttle.inTurn(source, async () => {
      if (this.#closed) return null;
      if (throttle.lockedOut(source, name)) {
        await this.#failed(name, throttle.fail(source, name, limits).delayMs);
        throw new Refusal('[SYS/TEMP] Too many failed logins; try again later');
      }
      const found = await verify();
      if (found === null) {
        await this.#failed(name, throttle.fail(source, name, limits).delayMs);
        throw new Refusal('[AUTH] Authentication failed');
      }
      return found;
    });
    if (user === null) return;
    throttle.succeed(source, name);
    if (name.toLowerCase() !== user) throttle.succeed(source, user);
    const release = this.#deps.locks.acquire(user);
    if (!release) {
      // RFC 2449 §8.1.1: the credentials were right, but another session holds the maildrop.
      throw new Refusal('[IN-USE] The mailbox is in use by another POP3 session');
    }
    let maildrop: Maildrop;
    try {
      maildrop = await Maildrop.open(maildirOf(this.#ctx.dataDir, user));
    } catch (err) {
      release();
      this.#ctx.log.log('error', 'pop3 cannot open maildrop', { user, error: (err as Error).message });
      throw new Refusal('[SYS/TEMP] Cannot open the mailbox; try again later');
    }
    this.#user = user;
    this.#release = release;
    this.#maildrop = maildrop;
    this.#state = 'TRANSACTION';
    this.#deps.onLogin?.();
    this.rearmIdle();
    // POP-before-SMTP (docs/REQUIREMENTS.md §1 ②): this address may relay for a while. 0 seconds grants nothing.
    this.#ctx.leases.grant(this.client, this.#ctx.store.get('pop3.popBeforeSmtpSeconds'));
    this.#ctx.log.log('info', 'pop3 login', { user, client: this.client, tls: this.#tls });
    const { count, octets } = maildrop.stat();
    await this.#ok(`${user} has ${messages(count)} (${octets} octets)`);
  }

  async #failed(user: string, delayMs: number): Promise<void> {
    this.#ctx.bus.emit('auth.failed', { service: 'pop3', client: this.client, user });
    this.#ctx.log.log('info', 'pop3 login failed', { user, client: this.client });
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: this.#abort.signal }).catch(() => undefined);
  }

  /** RFC 2595 §4: STLS, then TLS on the same connection; everything about the client is forgotten. */
  async #stlsCmd(): Promise<void> {
    const context = this.#deps.secureContext;
    if (this.#tls) throw new Refusal('Already using TLS');
    if (!context) throw new Refusal('STLS is not available: no certificate configured');
    await this.#send('+OK Begin TLS negotiation\r\n');
    this.#reader.detach();
    this.#pendingUser = null;
    const raw = this.#socket;
    const secure = await startTls(raw, context, TLS_HANDSHAKE_MS).catch((err: Error) => {
      this.#ctx.log.log('info', 'pop3 STLS handshake failed', { client: this.client, error: err.message });
      return null;
    });
    if (!secure) {
      this.#closed = true;
      raw.destroy();
      return;
    }
    this.#socket = secure;
    this.#tls = true;
    this.#watch(secure);
  }

  // TRANSACTION --------------------------------------------------------------------------------

  get #drop(): Maildrop {
    if (!this.#maildrop) throw new Error('no maildrop in TRANSACTION state');
    return this.#maildrop;
  }

  async #statCmd(args: string[]): Promise<void> {
    if (args.length !== 0) throw new Refusal('Usage: STAT');
    const { count, octets } = this.#drop.stat();
    await this.#ok(`${count} ${octets}`);
  }

  /** LIST and UIDL share their shape: one message, or every message not marked deleted. */
  async #listCmd(args: string[], row: (n: number, m: DropMessage) => string): Promise<void> {
    if (args.length > 1) throw new Refusal('Usage: LIST [msg] or UIDL [msg]');
    if (args.length === 1) {
      const n = messageNumber(args[0]);
      await this.#ok(row(n, this.#message(n)));
      return;
    }
    const { count, octets } = this.#drop.stat();
    await this.#send(`+OK ${messages(count)} (${octets} octets)\r\n`);
    let batch = '';
    for (const [n, m] of this.#drop.live()) {
      batch += `${row(n, m)}\r\n`;
      if (batch.length > 16384) {
        await this.#send(batch);
        batch = '';
      }
    }
    await this.#send(`${batch}.\r\n`);
  }

  async #retrCmd(args: string[]): Promise<void> {
    if (args.length !== 1) throw new Refusal('Usage: RETR msg');
    const n = messageNumber(args[0]);
    await this.#sendMessage(n, this.#message(n), null);
  }

  async #topCmd(args: string[]): Promise<void> {
    if (args.length !== 2) throw new Refusal('Usage: TOP msg lines');
    const n = messageNumber(args[0]);
    const lines = args[1] !== undefined && /^\d{1,9}$/.test(args[1]) ? Number(args[1]) : NaN;
    if (Number.isNaN(lines)) throw new Refusal('Usage: TOP msg lines (lines: a non-negative number)');
    await this.#sendMessage(n, this.#message(n), lines);
  }

  /**
   * RETR and TOP: read in bounded chunks, byte-stuffed (§3), never whole in memory. The status
   * line, each chunk and the terminator go out together, one socket write per chunk read; the
   * next chunk is read while the socket drains, and no further until it has (backpressure).
   */
  async #sendMessage(n: number, m: DropMessage, bodyLines: number | null): Promise<void> {
    let file: MessageFile | null = null;
    let next: Promise<Buffer | null>;
    try {
      file = await this.#openMessage(n, m);
      next = file.read();
      await next;
    } catch {
      file?.close();
      throw new Refusal('[SYS/TEMP] The message is no longer in the mailbox');
    }
    try {
      const stuffer = new DotStuffer(bodyLines);
      const out = [Buffer.from(`+OK ${bodyLines === null ? `${m.entry.size} octets` : 'top of message follows'}\r\n`)];
      for (;;) {
        const chunk = await next;
        if (chunk) stuffer.push(chunk, out);
        const last = chunk === null || file.ended || stuffer.done;
        if (last) stuffer.end(out);
        else next = file.read();
        await this.#send(out.length === 1 ? out[0]! : Buffer.concat(out));
        out.length = 0;
        if (last) break;
        if (this.#closed || this.#socket.destroyed) return;
      }
    } finally {
      file.close();
    }
    if (bodyLines === null) {
      m.retrieved = true;
      this.#readAhead(n + 1);
    }
  }

  /** Message `n`'s file: the one read ahead if it is that message, else opened now. */
  #openMessage(n: number, m: DropMessage): Promise<MessageFile> {
    const ahead = this.#ahead;
    this.#ahead = null;
    if (ahead?.n === n) return ahead.file;
    if (ahead) closeLater(ahead.file);
    return this.#drop.openFile(m);
  }

  /**
   * Clients retrieve a maildrop in order, one RETR after the other: open message `n` and read its
   * first chunk while the client takes the previous one, so its RETR is answered at once. Bounded:
   * one file and one chunk per session.
   */
  #readAhead(n: number): void {
    const m = this.#closed ? null : this.#drop.get(n);
    if (!m) return;
    const file = this.#drop.openFile(m).then((f) => {
      f.readAhead();
      return f;
    });
    // A failure is reported if RETR n comes.
    file.catch(() => undefined);
    this.#ahead = { n, file };
  }

  async #deleCmd(args: string[]): Promise<void> {
    if (args.length !== 1) throw new Refusal('Usage: DELE msg');
    const n = messageNumber(args[0]);
    this.#message(n);
    this.#drop.markDeleted(n);
    await this.#ok(`message ${n} deleted`);
  }

  async #rsetCmd(args: string[]): Promise<void> {
    if (args.length !== 0) throw new Refusal('Usage: RSET');
    this.#drop.reset();
    const { count, octets } = this.#drop.stat();
    await this.#ok(`maildrop has ${messages(count)} (${octets} octets)`);
  }

  #message(n: number): DropMessage {
    const m = this.#drop.get(n);
    if (m) return m;
    throw new Refusal(this.#drop.isDeleted(n) ? `message ${n} already deleted` : `no such message, only ${this.#drop.stat().count} in maildrop`);
  }

  // UPDATE -------------------------------------------------------------------------------------

  /** §6: QUIT from TRANSACTION enters UPDATE, where the marked messages are really removed. */
  async #quit(): Promise<void> {
    if (this.#state !== 'TRANSACTION') {
      await this.#send('+OK Yubin POP3 server signing off\r\n');
      this.#finish();
      return;
    }
    this.#state = 'UPDATE';
    const { removed, failed } = await this.#drop.update();
    const left = this.#drop.stat().count;
    this.#ctx.log.log('info', 'pop3 update', { user: this.#user, removed, failed });
    await this.#send(failed > 0
      ? `-ERR [SYS/TEMP] ${failed} deleted message${failed === 1 ? ' was' : 's were'} not removed\r\n`
      : `+OK Yubin POP3 server signing off (${messages(left)} left)\r\n`);
    this.#finish();
  }

  // plumbing -----------------------------------------------------------------------------------

  /** (Re)start the autologout timer with what applies now (login state, stress). */
  rearmIdle(): void {
    if (!this.#closed) this.#armIdle(this.#socket);
  }

  #watch(socket: Socket): void {
    this.#reader.attach(socket);
    socket.on('error', () => undefined);
    this.#armIdle(socket);
  }

  #armIdle(socket: Socket): void {
    const ms = this.#deps.idleTimeoutMs?.(this.#state !== 'AUTHORIZATION') ?? this.#ctx.store.get('pop3.idleTimeout') * 1000;
    // §3: the autologout timer; when it fires the session ends WITHOUT entering UPDATE.
    socket.setTimeout(ms, () => {
      if (this.#closed) return;
      socket.write('-ERR Autologout: idle for too long\r\n');
      this.#finish();
    });
  }

  async #ok(text: string): Promise<void> {
    await this.#send(text === '' ? '+OK\r\n' : `+OK ${text}\r\n`);
  }

  /** A refused command: "-ERR text"; after too many the session is closed. */
  async #bad(text: string): Promise<void> {
    this.#badCommands += 1;
    if (this.#badCommands >= MAX_BAD_COMMANDS) {
      await this.#send(`-ERR ${text}; too many bad commands, closing\r\n`);
      this.#finish();
      return;
    }
    await this.#send(`-ERR ${text}\r\n`);
  }

  /** Write, honouring backpressure; resolves early if the connection is gone. */
  #send(data: string | Buffer): Promise<void> {
    const socket = this.#socket;
    if (this.#closed || socket.destroyed) return Promise.resolve();
    if (socket.write(data)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  /**
   * Any end of the session: release the maildrop lock (marked deletions are forgotten unless
   * UPDATE ran), stop reading, and close our side once what was written has been sent.
   */
  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#release?.();
    this.#release = null;
    this.#maildrop = null;
    if (this.#ahead) closeLater(this.#ahead.file);
    this.#ahead = null;
    this.#reader.close();
    this.#socket.end();
  }
}

/** Close a file opened ahead and not wanted after all (once its open has finished). */
function closeLater(file: Promise<MessageFile>): void {
  file.then((f) => f.close(), () => undefined);
}

function messages(n: number): string {
  return n === 1 ? '1 message' : `${n} messages`;
}

/**
 * Client text echoed in a response: printable ASCII only (anything else as \xNN), at most 64
 * characters. A CR, an escape sequence or 8-bit bytes sent back would be injected into the
 * client's view of the protocol (found by the fuzzer: `USER a\rb\x1b[2J`).
 */
function shown(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]|\\/g, (c) => (c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return clean.length > 64 ? `${clean.slice(0, 64)}...` : clean;
}

/** A message number argument (§5): a positive decimal number. */
function messageNumber(arg: string | undefined): number {
  if (arg === undefined || !/^[1-9]\d{0,8}$/.test(arg)) throw new Refusal(`Invalid message number "${shown(arg ?? '')}"`);
  return Number(arg);
}

/** RFC 4616 §2: base64 of authzid NUL authcid NUL passwd; null when malformed. */
export function decodePlain(response: string): { authzid: string; authcid: string; password: string } | null {
  // "=" is the RFC 5034 §4 empty initial response, which PLAIN cannot use.
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(response) || response === '') return null;
  const parts = Buffer.from(response, 'base64').toString('utf8').split('\0');
  if (parts.length !== 3) return null;
  const [authzid, authcid, password] = parts as [string, string, string];
  if (authcid === '' || password === '') return null;
  return { authzid, authcid, password };
}
