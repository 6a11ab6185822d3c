// A small POP3 client for the bench (RFC 1939): APOP login, RETR to the terminating dot line.
// It counts bytes instead of keeping them, so reading 1,000 messages costs the client little.
import { connect, type Socket } from 'node:net';
import { createHash } from 'node:crypto';

const END = Buffer.from('\r\n.\r\n');

export class Pop3Client {
  readonly #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #wake: (() => void) | null = null;
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, d]) : d;
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<Pop3Client> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => resolve(new Pop3Client(socket)));
      socket.once('error', reject);
    });
  }

  async #until(find: (buf: Buffer) => number, timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = find(this.#buffer);
      if (at >= 0) {
        const out = this.#buffer.subarray(0, at);
        this.#buffer = this.#buffer.subarray(at);
        return out;
      }
      if (this.#closed) throw new Error('POP3 server closed the connection');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no POP3 reply within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.#wake = () => {
          clearTimeout(timer);
          this.#wake = null;
          r();
        };
      });
    }
  }

  /** One status line ("+OK ..." or "-ERR ..."), without CRLF. */
  async line(timeoutMs = 10_000): Promise<string> {
    const raw = await this.#until((b) => {
      const i = b.indexOf('\r\n');
      return i < 0 ? -1 : i + 2;
    }, timeoutMs);
    return raw.subarray(0, raw.length - 2).toString('latin1');
  }

  async command(line: string): Promise<string> {
    this.#socket.write(line + '\r\n');
    const reply = await this.line();
    if (!reply.startsWith('+OK')) throw new Error(`${line.split(' ')[0]}: ${reply}`);
    return reply;
  }

  /** Log in with APOP using the timestamp of the greeting. */
  async apop(greeting: string, user: string, secret: string): Promise<void> {
    const stamp = /<[^>]+>/.exec(greeting)?.[0];
    if (!stamp) throw new Error(`no APOP timestamp in the greeting: ${greeting}`);
    await this.command(`APOP ${user} ${createHash('md5').update(stamp + secret).digest('hex')}`);
  }

  /** RETR one message; returns its size on the wire (with the dot line). */
  async retr(n: number, timeoutMs = 60_000): Promise<number> {
    await this.command(`RETR ${n}`);
    // The body may start with the terminator itself when it is empty: look from 3 bytes before.
    const body = await this.#until((b) => {
      if (b.length >= 3 && b[0] === 0x2e && b[1] === 0x0d && b[2] === 0x0a) return 3;
      const i = b.indexOf(END);
      return i < 0 ? -1 : i + END.length;
    }, timeoutMs);
    return body.length;
  }

  close(): void {
    this.#socket.destroy();
  }
}
