// The boot test's mail clients: nodemailer for SMTP (a real MUA library), and a minimal POP3
// client for APOP (RFC 1939 §7) since no maintained npm POP3 client speaks APOP.
import { createTransport } from 'nodemailer';
import { connect, type Socket } from 'node:net';
import { createHash } from 'node:crypto';

export async function sendOverSmtp(port: number, message: { from: string; to: string; subject: string; text: string }): Promise<string> {
  const transport = createTransport({
    host: '127.0.0.1', port, secure: false, name: 'outside.test',
    // The board's certificate is self-signed until the admin installs one.
    tls: { rejectUnauthorized: false },
    // Generous: under TCG on a loaded machine the first message took 40 s (modules loaded at first use).
    connectionTimeout: 60_000, greetingTimeout: 60_000, socketTimeout: 120_000,
  });
  try {
    const info = await transport.sendMail(message);
    return info.response;
  } finally {
    transport.close();
  }
}

/** Lines from a POP3 server, each bounded, each wait bounded. */
class Pop3Lines {
  readonly #socket: Socket;
  #buffer = '';
  #waiters: Array<() => void> = [];
  #closed: Error | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (b: Buffer) => {
      this.#buffer += b.toString('latin1');
      if (this.#buffer.length > 1024 * 1024) socket.destroy(new Error('POP3 reply over 1 MiB'));
      this.#waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => {
      this.#closed ??= new Error('POP3 server closed the connection');
      this.#waiters.splice(0).forEach((w) => w());
    });
    socket.on('error', (e) => (this.#closed = e));
  }

  async line(timeoutMs = 60_000): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const at = this.#buffer.indexOf('\r\n');
      if (at >= 0) {
        const line = this.#buffer.slice(0, at);
        this.#buffer = this.#buffer.slice(at + 2);
        return line;
      }
      if (this.#closed) throw this.#closed;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error('no POP3 reply within the time limit');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async command(text: string): Promise<string> {
    this.#socket.write(`${text}\r\n`);
    const reply = await this.line();
    if (!reply.startsWith('+OK')) throw new Error(`POP3 ${text.split(' ')[0]}: ${reply}`);
    return reply;
  }

  /** A multi-line reply body, dot-unstuffed (RFC 1939 §3). */
  async body(): Promise<string> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line();
      if (l === '.') return lines.join('\r\n');
      lines.push(l.startsWith('..') ? l.slice(1) : l);
    }
  }
}

/** Log in with APOP and return the mailbox's message count and the first message. */
export async function fetchWithApop(port: number, user: string, secret: string): Promise<{ count: number; first: string | null }> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
    s.setTimeout(90_000, () => s.destroy(new Error('POP3 socket idle for 90 s')));
  });
  try {
    const pop = new Pop3Lines(socket);
    const greeting = await pop.line();
    const stamp = /<[^>]+>/.exec(greeting)?.[0];
    if (!greeting.startsWith('+OK') || !stamp) throw new Error(`POP3 greeting without an APOP timestamp: ${greeting}`);
    const digest = createHash('md5').update(stamp + secret).digest('hex');
    await pop.command(`APOP ${user} ${digest}`);
    const count = Number((await pop.command('STAT')).split(' ')[1]);
    let first: string | null = null;
    if (count > 0) {
      await pop.command('RETR 1');
      first = await pop.body();
    }
    await pop.command('QUIT');
    return { count, first };
  } finally {
    socket.destroy();
  }
}
