// Shared set-up for the POP3 tests: a data folder, a running service on free loopback ports,
// users and messages, a self-signed certificate, and a small line-level POP3 client.
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ConfigStore } from '../../src/config/store.ts';
import { type Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { deliver, maildirOf, uniqueName } from '../../src/maildir/maildir.ts';
import { createPop3Service, type Pop3Service } from '../../src/pop3d/server.ts';
import { createContext } from '../../firmware/context.ts';

export const run = promisify(execFile);

export interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function tempDir(t: Teardown, prefix = 'yubin-pop3-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

let certificate: Promise<{ cert: Buffer; key: Buffer }> | undefined;

/** A self-signed certificate for localhost, made once per test file with the openssl CLI. */
export function makeCert(): Promise<{ cert: Buffer; key: Buffer }> {
  certificate ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'yubin-pop3-cert-'));
    try {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '2', '-keyout', key, '-out', cert], { timeout: 30_000 });
      return { cert: await readFile(cert), key: await readFile(key) };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return certificate;
}

export interface Pop3Fixture {
  ctx: Context;
  service: Pop3Service;
  port: number;
  /** POP3S port; 0 when started without TLS. */
  tlsPort: number;
  dir: string;
}

/** A running POP3 service with these settings (admin text, as typed on the console). */
export async function startPop3(t: Teardown, settings: Record<string, string> = {}, options: { tls?: boolean } = {}): Promise<Pop3Fixture> {
  const dir = await tempDir(t);
  const store = await ConfigStore.open(dir);
  // Tests do not want to wait a second per failed login unless they say so.
  for (const [key, value] of Object.entries({ 'login.delayMs': '0', ...settings })) store.stage(key, value);
  await store.commit();
  const ctx: Context = createContext(dir, store, stderrLogger('error'));
  const tls = options.tls === false ? undefined : await makeCert();
  const service = createPop3Service(ctx, { ...(tls ? { tls } : {}), ephemeralPorts: true });
  await service.start();
  t.teardown(() => service.stop());
  const ports = service.ports();
  return { ctx, service, port: ports.pop3 ?? 0, tlsPort: ports.pop3s ?? 0, dir };
}

export async function addUser(ctx: Context, name: string, password: string, apopSecret?: string): Promise<void> {
  await ctx.users.add(name, password);
  if (apopSecret !== undefined) await ctx.users.setApopSecret(name, apopSecret);
}

/** Deliver a message (text with LF or CRLF line ends; stored CRLF as SMTP would). Returns the file name. */
export async function putMessage(ctx: Context, user: string, text: string): Promise<string> {
  const crlf = text.replace(/\r?\n/g, '\r\n');
  return deliver(maildirOf(ctx.dataDir, user), uniqueName('test.example'), async (file) => {
    await file.writeFile(crlf);
  });
}

/** A line-level POP3 client with a timeout on every read. */
export class LineClient {
  socket: Socket;
  #buffer = '';
  #waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.#listen(socket);
  }

  #listen(socket: Socket): void {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.#buffer += d;
      this.#wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  static async connect(port: number, options: { localAddress?: string; tls?: boolean } = {}): Promise<LineClient> {
    const host = '127.0.0.1';
    const socket = options.tls
      ? tlsConnect({ host, port, rejectUnauthorized: false, ...(options.localAddress ? { localAddress: options.localAddress } : {}) })
      : netConnect({ host, port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new LineClient(socket);
  }

  /** The next CRLF line (without CRLF); null when the server closed the connection. */
  async line(timeoutMs = 5000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#buffer.indexOf('\r\n');
      if (i !== -1) {
        const line = this.#buffer.slice(0, i);
        this.#buffer = this.#buffer.slice(i + 2);
        return line;
      }
      if (this.closed) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms (buffer: ${JSON.stringify(this.#buffer)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Send one command line and read the one-line reply. */
  async cmd(line: string, timeoutMs = 5000): Promise<string | null> {
    this.socket.write(`${line}\r\n`);
    return this.line(timeoutMs);
  }

  /** Read the rest of a multi-line response, un-stuffed, as lines. */
  async multi(timeoutMs = 5000): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const line = await this.line(timeoutMs);
      if (line === null) throw new Error('connection closed inside a multi-line response');
      if (line === '.') return out;
      out.push(line.startsWith('.') ? line.slice(1) : line);
    }
  }

  /** Upgrade after "+OK" to STLS. */
  async startTls(): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    const secure = tlsConnect({ socket: raw, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.#listen(secure);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Login with USER/PASS on a client; returns the PASS reply. */
export async function userPass(c: LineClient, user: string, password: string): Promise<string | null> {
  const u = await c.cmd(`USER ${user}`);
  if (!u?.startsWith('+OK')) return u;
  return c.cmd(`PASS ${password}`);
}
