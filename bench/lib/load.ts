// The load: Postfix's smtp-source for SMTP ingest (one message per connection, as the issue
// measures), idle sessions that only read the greeting, and POP3 RETR and APOP logins.
import { connect, type Socket } from 'node:net';
import { run, sleep } from './system.ts';
import { Pop3Client } from './pop3.ts';

export interface Ingest {
  messages: number;
  seconds: number;
  perSecond: number;
}

/** Send `count` messages of `size` body bytes over `sessions` parallel connections. */
export async function smtpSource(port: number, size: number, count: number, sessions: number): Promise<Ingest> {
  const started = performance.now();
  const r = await run('smtp-source', ['-l', String(size), '-m', String(count), '-s', String(sessions), '-M', 'client.outside.test', '-f', 'sender@outside.test', '-t', 'bench@bench.test', `127.0.0.1:${port}`], {
    timeoutMs: 300_000,
  });
  const seconds = (performance.now() - started) / 1000;
  // smtp-source warns on every refused transaction but still exits 0: anything on stderr is a failure.
  if (r.code !== 0 || r.stderr.trim()) throw new Error(`smtp-source to port ${port} failed (${r.code}): ${r.stderr.slice(-600)}`);
  return { messages: count, seconds, perSecond: count / seconds };
}

/** Wait until `count()` reaches `target`; returns the seconds waited. */
export async function until(count: () => Promise<number>, target: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const n = await count();
    if (n >= target) return (performance.now() - started) / 1000;
    if (performance.now() - started > timeoutMs) throw new Error(`only ${n} of ${target} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Open `n` connections and wait for each greeting; returns a function that closes them all. */
export async function idleSessions(port: number, n: number, timeoutMs = 60_000): Promise<() => void> {
  const sockets: Socket[] = [];
  const close = () => {
    for (const s of sockets) s.destroy();
  };
  const greeted = (s: Socket) =>
    new Promise<void>((resolve, reject) => {
      s.once('data', () => resolve());
      s.once('error', reject);
      s.once('close', () => reject(new Error('closed before the greeting')));
    });
  const deadline = setTimeout(close, timeoutMs);
  try {
    // In batches of 50, so the peer's accept queue is not what we measure.
    for (let i = 0; i < n; i += 50) {
      const batch = Array.from({ length: Math.min(50, n - i) }, () => connect({ port, host: '127.0.0.1' }));
      sockets.push(...batch);
      await Promise.all(batch.map(greeted));
    }
  } catch (err) {
    close();
    throw err;
  } finally {
    clearTimeout(deadline);
  }
  return close;
}

export interface Retr {
  messages: number;
  bytes: number;
  seconds: number;
}

/** Log in with APOP and RETR messages 1..count in one session. */
export async function pop3Retr(port: number, user: string, secret: string, count: number): Promise<Retr> {
  const c = await Pop3Client.open(port);
  try {
    await c.apop(await c.line(), user, secret);
    const started = performance.now();
    let bytes = 0;
    for (let i = 1; i <= count; i++) bytes += await c.retr(i);
    const seconds = (performance.now() - started) / 1000;
    await c.command('QUIT');
    return { messages: count, bytes, seconds };
  } finally {
    c.close();
  }
}

/** APOP logins (connect, greeting, APOP, QUIT) for `seconds`, `parallel` at a time; logins/s. */
export async function apopLogins(port: number, user: string, secret: string, seconds: number, parallel: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const c = await Pop3Client.open(port);
      try {
        await c.apop(await c.line(), user, secret);
        await c.command('QUIT');
        done++;
      } finally {
        c.close();
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: parallel }, worker));
  return done / ((performance.now() - started) / 1000);
}
