import t from 'tap';
import { startDnsServer } from '../support/dns-server.ts';
import { commonFreePort, makeContext, startPeer, startStation, queueMessage, waitFor, queuedIds } from './fixtures/harness.ts';
import { ConnectionLimiter } from '../../src/outbound/limiter.ts';

const HOST = '127.0.0.90';

t.test('all outbound mail goes through the smarthost, with AUTH over STARTTLS', async (t) => {
  const port = await commonFreePort([HOST]);
  const ctx = await makeContext(t, { domains: 'office.test', 'relay.smarthost': `${HOST}:${port}`, 'relay.smarthostUser': 'office', 'relay.smarthostPassword': 'relay-secret-1' });
  const peer = await startPeer(t, HOST, port, { auth: { user: 'office', pass: 'relay-secret-1' } });
  const s = await startStation(t, ctx);
  const a = await queueMessage(ctx, s.spool, { to: ['bob@dest.test'] });
  const b = await queueMessage(ctx, s.spool, { to: ['carol@elsewhere.test'] });
  s.qmgr.enqueue(a.id);
  s.qmgr.enqueue(b.id);
  await waitFor('both at the smarthost', () => peer.received.length === 2);
  t.same(peer.received.map((m) => m.to[0]).sort(), ['bob@dest.test', 'carol@elsewhere.test'], 'no MX lookup: every domain to the smarthost');
  t.ok(peer.received.every((m) => m.secure && m.user === 'office'), 'authenticated as office over TLS');
});

t.test('the smarthost password is never sent in the clear, and a refused login defers', async (t) => {
  const port = await commonFreePort([HOST]);
  const ctx = await makeContext(t, { domains: 'office.test', 'relay.smarthost': `${HOST}:${port}`, 'relay.smarthostUser': 'office', 'relay.smarthostPassword': 'wrong-password' });
  const peer = await startPeer(t, HOST, port, { auth: { user: 'office', pass: 'relay-secret-1' } });
  const s = await startStation(t, ctx);
  const a = await queueMessage(ctx, s.spool, { to: ['bob@dest.test'] });
  s.qmgr.enqueue(a.id);
  await waitFor('attempt', async () => (await s.spool.load(a.id)).rcpts[0]!.attempts === 1);
  t.match((await s.spool.load(a.id)).rcpts[0]!.lastReply, /^454 4\.7\.0 AUTH at 127\.0\.0\.90 \[127\.0\.0\.90\] failed: 535/);
  await peer.close();
  const plain = await startPeer(t, HOST, port, { noTls: true, auth: { user: 'office', pass: 'relay-secret-1' } });
  await ctx.store.set('relay.smarthostPassword', 'relay-secret-1');
  s.qmgr.flush();
  await waitFor('second attempt', async () => (await s.spool.load(a.id)).rcpts[0]!.attempts === 2);
  t.match((await s.spool.load(a.id)).rcpts[0]!.lastReply, /^451 4\.7\.10 .*offered no usable STARTTLS/, 'no STARTTLS: deferred, password kept');
  t.equal(plain.received.length, 0);
});

t.test('no more sessions to one destination than outbound.maxPerDestination', async (t) => {
  const dns = await startDnsServer(t, { 'dest.test': { MX: [{ preference: 10, exchange: 'mx.dest.test' }] }, 'mx.dest.test': { A: [HOST] } });
  const port = await commonFreePort([HOST]);
  const ctx = await makeContext(t, { domains: 'office.test', 'dns.servers': dns.address, 'outbound.port': String(port), 'outbound.maxPerDestination': '2', 'queue.concurrency': '10' });
  const peer = await startPeer(t, HOST, port, { dataDelayMs: 150 });
  const s = await startStation(t, ctx);
  for (let i = 0; i < 8; i++) s.qmgr.enqueue((await queueMessage(ctx, s.spool, { to: [`r${i}@dest.test`] })).id);
  await waitFor('all delivered', async () => peer.received.length === 8 && (await queuedIds(s.spool)).length === 0, 15_000);
  t.equal(peer.maxOpen, 2, `at most 2 transactions at once (saw ${peer.maxOpen})`);
});

t.test('the limiter bounds the total and each destination, and wakes waiters in turn', async (t) => {
  const limiter = new ConnectionLimiter(() => 3, () => 2);
  const a1 = await limiter.acquire('a');
  const a2 = await limiter.acquire('a');
  let a3got = false;
  const a3 = limiter.acquire('a').then((r) => ((a3got = true), r));
  const b1 = await limiter.acquire('b');
  let b2got = false;
  const b2 = limiter.acquire('b').then((r) => ((b2got = true), r));
  await new Promise((r) => setImmediate(r));
  t.equal(limiter.open, 3);
  t.notOk(a3got || b2got, 'a is at its per-destination bound, the total is reached');
  b1();
  await new Promise((r) => setImmediate(r));
  t.ok(b2got && !a3got, 'the freed slot goes to a waiter that may take it');
  a1();
  a1(); // a second release does nothing
  await a3;
  t.equal(limiter.open, 3);
  (await b2)();
  a2();
  (await a3)();
  t.equal(limiter.open, 0);
});
