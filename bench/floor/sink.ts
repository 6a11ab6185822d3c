// The floor under Yubin's ingest: the least a Node.js process can do for a message and still say
// "250" only when it is durable. Run as a child by bench/floor.ts, in one of two forms:
//   smtp-server  npm smtp-server (what Yubin's listeners are), each message streamed to its own file,
//                fsync'd once, no checks, no queue entry;
//   raw          node:net with a hand-rolled minimal SMTP (greeting, EHLO, MAIL, RCPT, DATA, QUIT),
//                the same one file and one fsync per message.
// Neither is a mail server; they measure what the runtime and the fsync cost on this machine.
import { createServer, type Socket } from 'node:net';
import { open, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { greetByPolicy, GREETING_POLICY } from '../../src/smtpd/greeting.ts';

const [kind, dir] = process.argv.slice(2) as ['smtp-server' | 'raw', string];
await mkdir(dir, { recursive: true });
let n = 0;

async function durable(chunks: readonly Uint8Array[]): Promise<void> {
  const file = await open(join(dir, `${process.pid}-${n++}.eml`), 'wx', 0o600);
  try {
    await file.writev(chunks as Uint8Array<ArrayBuffer>[]);
    await file.sync();
  } finally {
    await file.close();
  }
}

function rawSession(socket: Socket): void {
  let buffer: Buffer = Buffer.alloc(0);
  let data: Buffer[] | null = null;
  socket.write('220 floor ESMTP\r\n');
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    for (;;) {
      if (data) {
        const end = buffer.indexOf('\r\n.\r\n');
        if (end < 0) {
          data.push(buffer);
          buffer = Buffer.alloc(0);
          return;
        }
        data.push(buffer.subarray(0, end + 2));
        buffer = buffer.subarray(end + 5);
        const message = data;
        data = null;
        void durable(message).then(() => socket.write('250 2.0.0 queued\r\n'), () => socket.write('451 4.3.0 error\r\n'));
        continue;
      }
      const lf = buffer.indexOf('\n');
      if (lf < 0) return;
      const line = buffer.subarray(0, lf).toString('latin1').trim().toUpperCase();
      buffer = buffer.subarray(lf + 1);
      if (line.startsWith('EHLO') || line.startsWith('HELO')) socket.write('250-floor\r\n250 8BITMIME\r\n');
      else if (line.startsWith('DATA')) (socket.write('354 go ahead\r\n'), (data = []));
      else if (line.startsWith('QUIT')) (socket.write('221 bye\r\n'), socket.end());
      else socket.write('250 ok\r\n');
    }
  });
  socket.on('error', () => undefined);
}

let port: number;
if (kind === 'raw') {
  const server = createServer({ noDelay: true }, rawSession);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
} else {
  // Greeted at once, as Yubin greets the bench's load (smtp-server alone pauses 100 ms first).
  greetByPolicy();
  const server = new SMTPServer({
    [GREETING_POLICY]: { delayFor: () => 0, earlyTalker: () => undefined },
    logger: false, authOptional: true, disabledCommands: ['AUTH', 'STARTTLS'], disableReverseLookup: true,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => void durable(chunks).then(() => callback(), (err: Error) => callback(err)));
    },
  } as SMTPServerOptions);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.server.address() as { port: number }).port;
}
process.stdout.write(`${port}\n`);
