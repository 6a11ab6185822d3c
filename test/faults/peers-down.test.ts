// Each peer down in turn, and what the README promises happens: clamd down → 451 4.7.1 (or accept
// unscanned if so configured); DNS silent → sender checks answer 451 4.7.24 (senderauth.temperror);
// outbound DNS silent → deferred, never bounced; MQTT broker down or frozen → mail flows; the
// internal server down (edge role) → the message waits in the queue and goes when it is back.
import t from 'tap';
import { createServer, type Server, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { startInProcess } from '../support/firmware.ts';
import { startPeer, commonFreePort } from '../outbound/fixtures/harness.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';
import { sendMessage, numberedMessage, seqsIn, until, sleep } from './fixtures/mail.ts';
import type { QueueEntry } from '../../src/spool/entry.ts';

const QUICK = { 'smtp.greetingDelay': 0 };
const ALICE = [{ name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] }];

/** A UDP "DNS server" that reads every query and never answers. */
async function silentDns(t: Tap): Promise<string> {
  const udp = createSocket('udp4');
  udp.on('message', () => undefined);
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => udp.close());
  return `127.0.0.1:${udp.address().port}`;
}

/** A TCP listener that accepts and never says a word (a frozen broker or server). */
async function blackHole(t: Tap): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as { port: number }).port;
}

/** A port on 127.0.0.1 where nothing listens (bound and closed again). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

type Tap = { teardown(fn: () => unknown): void };

async function queued(dataDir: string): Promise<QueueEntry[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const dir = join(dataDir, 'spool/queue');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json') && !f.startsWith('.'));
  // An entry can be delivered and removed between readdir and readFile (a retry finishing while
  // we look): it is then simply no longer queued. Any other error is a real failure.
  const entries = await Promise.all(files.map(async (f) => {
    try {
      return JSON.parse(await readFile(join(dir, f), 'utf8')) as QueueEntry;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }));
  return entries.filter((e): e is QueueEntry => e !== undefined);
}

t.test('clamd down: 451 4.7.1 by default; accepted unscanned with antivirus.onError=accept', async (t) => {
  const fw = await startInProcess(t, { ...QUICK, 'senderauth.enabled': false, 'antivirus.address': '/nonexistent/clamd.ctl' }, ALICE);
  const port = fw.ports().smtp!;
  t.match(await sendMessage({ port, message: numberedMessage(1) }), /^451 4\.7\.1 /, 'the sender is asked to retry');
  await fw.ctx.store.set('antivirus.onError', 'accept');
  t.match(await sendMessage({ port, message: numberedMessage(2) }), /^250 /, 'accepted when the admin chose to');
  await until('delivered', async () => (await seqsIn(maildirOf(fw.ctx.dataDir, 'alice'))).includes(2));
});

t.test('DNS down: inbound sender checks answer 451 4.7.24 (senderauth.temperror=tempfail); tag accepts', async (t) => {
  const dns = await silentDns(t);
  const fw = await startInProcess(t, { ...QUICK, 'dns.servers': [dns], 'dns.timeoutMs': 300, 'dns.tries': 1 }, ALICE);
  const port = fw.ports().smtp!;
  const started = Date.now();
  t.match(await sendMessage({ port, message: numberedMessage(1) }), /^451 4\.7\.24 /, 'the sender is asked to retry');
  t.ok(Date.now() - started < 15_000, `answered in ${Date.now() - started} ms, bounded by dns.timeoutMs`);
  await fw.ctx.store.set('senderauth.temperror', 'tag');
  t.match(await sendMessage({ port, message: numberedMessage(2) }), /^250 /, 'accepted and tagged when the admin chose tag');
  await until('delivered', async () => (await seqsIn(maildirOf(fw.ctx.dataDir, 'alice'))).includes(2));
});

t.test('outbound DNS down: the message stays queued as deferred and is not bounced', async (t) => {
  const dns = await silentDns(t);
  const fw = await startInProcess(t, { ...QUICK, 'senderauth.enabled': false, 'dns.servers': [dns], 'dns.timeoutMs': 300, 'dns.tries': 1 }, ALICE);
  // 127.0.0.1 is a trusted network by default: relaying to a foreign domain is allowed.
  t.match(await sendMessage({ port: fw.ports().smtp!, local: '127.0.0.1', from: 'alice@yubin.test', to: 'bob@world.example', message: numberedMessage(1) }), /^250 /);
  let entries: QueueEntry[] = [];
  await until('a recorded delivery attempt', async () => (entries = await queued(fw.ctx.dataDir)).some((e) => e.rcpts.some((r) => r.attempts > 0)));
  const rcpt = entries[0]!.rcpts[0]!;
  t.equal(rcpt.status, 'pending', 'still pending: deferred');
  t.match(rcpt.lastReply ?? '', /^4\d\d /, `a temporary reply recorded: ${rcpt.lastReply}`);
  t.ok(rcpt.nextAttempt > Date.now(), 'a retry is scheduled');
  await sleep(300);
  t.same(await seqsIn(maildirOf(fw.ctx.dataDir, 'alice')), [], 'no bounce to the sender');
});

t.test('MQTT broker down or frozen: mail flows as before', async (t) => {
  for (const [what, port] of [['refusing connections', await closedPort()], ['accepting and never answering', await blackHole(t)]] as const) {
    const fw = await startInProcess(t, { ...QUICK, 'senderauth.enabled': false, 'mqtt.url': `mqtt://127.0.0.1:${port}` }, ALICE);
    const started = Date.now();
    for (let i = 0; i < 5; i++) t.match(await sendMessage({ port: fw.ports().smtp!, message: numberedMessage(i) }), /^250 /, `broker ${what}: message ${i} accepted`);
    await until('all five delivered', async () => (await seqsIn(maildirOf(fw.ctx.dataDir, 'alice'))).length === 5);
    t.ok(Date.now() - started < 10_000, `five messages in ${Date.now() - started} ms with the broker ${what}`);
    await fw.stop();
  }
});

t.test('internal server down (edge role): the message stays queued and is delivered when it is back', async (t) => {
  const internalHost = '127.0.0.86';
  const internalPort = await commonFreePort([internalHost]);
  const fw = await startInProcess(t, { ...QUICK, role: 'edge', 'senderauth.enabled': false, 'relay.internalHost': `${internalHost}:${internalPort}` });
  t.match(await sendMessage({ port: fw.ports().smtp!, message: numberedMessage(7) }), /^250 /, 'the edge accepts mail for the local domain');
  let entries: QueueEntry[] = [];
  await until('a recorded delivery attempt', async () => (entries = await queued(fw.ctx.dataDir)).some((e) => e.rcpts.some((r) => r.attempts > 0)));
  t.equal(entries[0]!.rcpts[0]!.status, 'pending', `deferred: ${entries[0]!.rcpts[0]!.lastReply}`);
  const internal = await startPeer(t, internalHost, internalPort);
  // The retry comes on queue.retryMinutes; the admin's `queue flush` brings it forward.
  fw.qmgr.flush();
  await until('received by the internal server', () => internal.received.length === 1);
  t.match(internal.received[0]!.data, /X-Seq: 7/);
  t.same(internal.received[0]!.to, ['alice@yubin.test']);
  await until('the edge queue empty', async () => (await queued(fw.ctx.dataDir)).length === 0);
});
