// Real SMTP clients for tests: swaks and Python's smtplib (Debian packages), and a raw socket for
// byte-exact sessions (smuggling).
import { execFile } from 'node:child_process';
import { connect, type Socket } from 'node:net';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: options.timeoutMs ?? 30_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? Number((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** swaks with the given options; returns its transcript. */
export function swaks(args: string[], timeoutMs = 30_000): Promise<RunResult> {
  return run('swaks', ['--hide-informational', '--timeout', '20', ...args], { timeoutMs });
}

/** A line-oriented raw SMTP conversation from a chosen local address. */
export class RawSmtp {
  readonly socket: Socket;
  #buffer = '';
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buffer += d.toString('latin1');
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('close', () => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static open(port: number, localAddress = '127.0.0.1', host = '127.0.0.1'): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, localAddress }, () => resolve(new RawSmtp(socket)));
      socket.once('error', reject);
    });
  }

  /** Wait for a complete reply (last line "NNN "), return it and consume it. */
  async reply(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-.*\r\n)*\d{3} .*\r\n/.exec(this.#buffer);
      if (m) {
        this.#buffer = this.#buffer.slice(m[0].length);
        return m[0];
      }
      if (this.socket.destroyed && this.#buffer === '') return '';
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SMTP reply within ${timeoutMs} ms; have ${JSON.stringify(this.#buffer)}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  send(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  async command(line: string): Promise<string> {
    this.send(line + '\r\n');
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * The server's reply to the first command starting with `command` in a swaks transcript
 * (plain "-> X" / "<- 250 ..." or TLS "~> X" / "<~ 250 ...", errors "<** " / "<~* "), e.g. "554 5.7.1 ...".
 */
export function swaksReply(transcript: string, command: string): string | null {
  const lines = transcript.split('\n');
  const at = lines.findIndex((l) => /^\s*(->|~>) /.test(l) && l.replace(/^\s*(->|~>) /, '').toUpperCase().startsWith(command.toUpperCase()));
  if (at < 0) return null;
  for (const line of lines.slice(at + 1)) {
    const m = /^(?:<-|<~|<\*\*|<~\*) +(\d{3}[ -].*)$/.exec(line);
    if (m) return m[1]!;
  }
  return null;
}
