import t, { type Test } from 'tap';
import { startDnsServer } from '../support/dns-server.ts';
import { commonFreePort, makeContext, startPeer, startStation, queueMessage, waitFor, mailboxOf, queuedIds } from './fixtures/harness.ts';

const MX1 = '127.0.0.20';
const MX2 = '127.0.0.21';
const PLAIN = '127.0.0.22';

async function setup(t: Test, extra: Record<string, string> = {}) {
  const dns = await startDnsServer(t, {
    'dest.test': { MX: [{ preference: 20, exchange: 'mx2.dest.test' }, { preference: 10, exchange: 'mx1.dest.test' }] },
    'mx1.dest.test': { A: [MX1] },
    'mx2.dest.test': { A: [MX2] },
    'nomail.test': { MX: [{ preference: 0, exchange: '.' }], A: [MX1] },
    'plain.test': { A: [PLAIN] },
    'slow.test': { fail: 'TIMEOUT' },
    'loop.test': { MX: [{ preference: 10, exchange: 'yubin.office.test' }, { preference: 20, exchange: 'mx2.dest.test' }] },
    'yubin.office.test': { A: ['127.0.0.1'] },
  });
  const port = await commonFreePort([MX1, MX2, PLAIN]);
  const ctx = await makeContext(t, {
    hostname: 'yubin.office.test',
    domains: 'office.test',
    'dns.servers': dns.address,
    'dns.timeoutMs': '500',
    'outbound.port': String(port),
    'outbound.connectTimeoutMs': '2000',
    ...extra,
  });
  await ctx.users.add('alice', 'correct horse battery');
  const station = await startStation(t, ctx);
  return { ...station, port, dns };
}

t.test('delivers to the most preferred exchanger over STARTTLS, dot-stuffed, every recipient in one session', async (t) => {
  const s = await setup(t);
  const mx1 = await startPeer(t, MX1, s.port);
  const mx2 = await startPeer(t, MX2, s.port);
  const entry = await queueMessage(s.ctx, s.spool, { to: ['bob@dest.test', 'carol@dest.test'] });
  s.qmgr.enqueue(entry.id);
  await waitFor('delivery to mx1', () => mx1.received.length === 1);
  await waitFor('queue empty', async () => (await queuedIds(s.spool)).length === 0);
  const got = mx1.received[0]!;
  t.same(got.to, ['bob@dest.test', 'carol@dest.test'], 'both recipients in one transaction');
  t.equal(got.from, 'alice@office.test');
  t.ok(got.secure, 'the session was upgraded with STARTTLS (self-signed certificate accepted)');
  t.equal(got.helo, 'yubin.office.test', 'EHLO names the board');
  t.match(got.data, /\r\n\.leading dot line\r\n/, 'a line starting with a dot arrives intact (dot-stuffed on the wire)');
  t.equal(mx2.received.length, 0, 'the less preferred exchanger got nothing');
});

t.test('falls back to the next exchanger when the preferred one is down', async (t) => {
  const s = await setup(t);
  const mx2 = await startPeer(t, MX2, s.port); // nothing listens on mx1
  const entry = await queueMessage(s.ctx, s.spool, { to: ['bob@dest.test'] });
  s.qmgr.enqueue(entry.id);
  await waitFor('delivery to mx2', () => mx2.received.length === 1);
  t.same(mx2.received[0]!.to, ['bob@dest.test']);
});

t.test('a domain without MX gets its mail at its address record (implicit MX)', async (t) => {
  const s = await setup(t);
  const peer = await startPeer(t, PLAIN, s.port);
  const entry = await queueMessage(s.ctx, s.spool, { to: ['dave@plain.test'] });
  s.qmgr.enqueue(entry.id);
  await waitFor('delivery to the A record', () => peer.received.length === 1);
  t.pass('delivered to plain.test [127.0.0.22]');
});

t.test('null MX bounces at once with 556 5.1.10, the sender gets a DSN', async (t) => {
  const s = await setup(t);
  const mx1 = await startPeer(t, MX1, s.port);
  const entry = await queueMessage(s.ctx, s.spool, { to: ['erin@nomail.test'] });
  s.qmgr.enqueue(entry.id);
  await waitFor('DSN in alice\'s mailbox', async () => (await mailboxOf(s.ctx, 'alice')).length === 1);
  const [dsn] = await mailboxOf(s.ctx, 'alice');
  t.match(dsn, /Content-Type: multipart\/report; report-type=delivery-status/);
  t.match(dsn, /Final-Recipient: rfc822; erin@nomail\.test\r\nAction: failed\r\nStatus: 5\.1\.10/);
  t.match(dsn, /Diagnostic-Code: smtp; 556 5\.1\.10 nomail\.test: the domain accepts no mail \(null MX, RFC 7505\)/);
  t.match(dsn, /Return-Path: <>/, 'the DSN comes from the null sender');
  t.equal(mx1.received.length, 0, 'no connection to the domain\'s address record');
  await waitFor('queue empty', async () => (await queuedIds(s.spool)).length === 0);
});

t.test('NXDOMAIN is permanent, a DNS timeout is temporary', async (t) => {
  const s = await setup(t);
  const gone = await queueMessage(s.ctx, s.spool, { to: ['x@nowhere.test'] });
  const slow = await queueMessage(s.ctx, s.spool, { to: ['y@slow.test'] });
  s.qmgr.enqueue(gone.id);
  s.qmgr.enqueue(slow.id);
  await waitFor('DSN for NXDOMAIN', async () => (await mailboxOf(s.ctx, 'alice')).length === 1);
  const [dsn] = await mailboxOf(s.ctx, 'alice');
  t.match(dsn, /Final-Recipient: rfc822; x@nowhere\.test\r\nAction: failed\r\nStatus: 5\.1\.2/);
  await waitFor('timeout recorded', async () => (await s.spool.load(slow.id)).rcpts[0]!.attempts === 1);
  const left = await s.spool.load(slow.id);
  t.equal(left.rcpts[0]!.status, 'pending', 'still queued after a DNS timeout');
  t.match(left.rcpts[0]!.lastReply, /^451 4\.4\.3 slow\.test: MX lookup of slow\.test failed: timed out/);
  t.same(await queuedIds(s.spool), [slow.id], 'only the timed-out message is left');
});

t.test('a domain that requires TLS is not sent in the clear', async (t) => {
  const s = await setup(t, { 'outbound.tlsRequiredDomains': 'plain.test' });
  const peer = await startPeer(t, PLAIN, s.port, { noTls: true });
  const entry = await queueMessage(s.ctx, s.spool, { to: ['dave@plain.test'] });
  s.qmgr.enqueue(entry.id);
  await waitFor('attempt recorded', async () => (await s.spool.load(entry.id)).rcpts[0]!.attempts === 1);
  const left = await s.spool.load(entry.id);
  t.equal(peer.received.length, 0, 'nothing sent without TLS');
  t.match(left.rcpts[0]!.lastReply, /^4\d\d 4\.7\.10 /, `deferred: ${left.rcpts[0]!.lastReply}`);
});

t.test('a domain whose best MX is this server bounces as a loop (5.4.6), never sent to a worse MX', async (t) => {
  const s = await setup(t);
  const mx2 = await startPeer(t, MX2, s.port);
  const entry = await queueMessage(s.ctx, s.spool, { to: ['x@loop.test'] });
  s.qmgr.enqueue(entry.id);
  await waitFor('bounce', async () => (await mailboxOf(s.ctx, 'alice')).length === 1);
  t.match((await mailboxOf(s.ctx, 'alice'))[0], /Status: 5\.4\.6\r\n[^]*mail loops back to this server/);
  t.equal(mx2.received.length, 0);
});
