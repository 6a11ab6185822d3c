import t, { type Test } from 'tap';
import { startDnsServer } from '../support/dns-server.ts';
import { commonFreePort, makeContext, startPeer, startStation, queueMessage, waitFor, mailboxOf, queuedIds } from './fixtures/harness.ts';

const MX = '127.0.0.30';

async function setup(t: Test) {
  const dns = await startDnsServer(t, { 'dest.test': { MX: [{ preference: 10, exchange: 'mx.dest.test' }] }, 'mx.dest.test': { A: [MX] } });
  const port = await commonFreePort([MX]);
  const ctx = await makeContext(t, {
    hostname: 'yubin.office.test',
    domains: 'office.test',
    'dns.servers': dns.address,
    'outbound.port': String(port),
  });
  await ctx.users.add('alice', 'correct horse battery');
  return { ...(await startStation(t, ctx)), port };
}

t.test('a 4xx peer defers the message on the backoff schedule; it is delivered on the retry', async (t) => {
  const s = await setup(t);
  let busy = true;
  const peer = await startPeer(t, MX, s.port, { rcpt: () => (busy ? '451 4.7.1 greylisted, come back later' : null) });
  const deferrals: string[] = [];
  s.ctx.bus.on('delivery.deferred', (e) => deferrals.push(`${e.rcpt} ${e.reply}`));
  const entry = await queueMessage(s.ctx, s.spool, { to: ['bob@dest.test'] });
  const before = Date.now();
  s.qmgr.enqueue(entry.id);
  await waitFor('first attempt recorded', async () => (await s.spool.load(entry.id)).rcpts[0]!.attempts === 1);
  const deferred = (await s.spool.load(entry.id)).rcpts[0]!;
  t.equal(deferred.status, 'pending');
  t.match(deferred.lastReply, /^451 4\.7\.1 greylisted/);
  const wait = deferred.nextAttempt - before;
  t.ok(wait >= 5 * 60_000 - 1000 && wait <= 5 * 60_000 + 5000, `next attempt in about 5 minutes (${Math.round(wait / 1000)} s)`);
  t.equal(peer.received.length, 0);
  t.match(deferrals, [/^bob@dest\.test 451 4\.7\.1 greylisted/], 'a delivery.deferred event');
  busy = false;
  s.qmgr.flush(); // what the retry timer does after 5 minutes, now
  await waitFor('delivered on retry', () => peer.received.length === 1);
  await waitFor('queue empty', async () => (await queuedIds(s.spool)).length === 0);
  t.same(await mailboxOf(s.ctx, 'alice'), [], 'no bounce for a deferral');
});

t.test('a 5xx peer makes the sender a DSN naming the recipient, the server and its reply; other recipients still get theirs', async (t) => {
  const s = await setup(t);
  const peer = await startPeer(t, MX, s.port, { rcpt: (a) => (a.startsWith('nobody') ? '550 5.1.1 nobody: no such user here' : null) });
  const entry = await queueMessage(s.ctx, s.spool, { to: ['bob@dest.test', 'nobody@dest.test'], subject: 'quarterly figures' });
  s.qmgr.enqueue(entry.id);
  await waitFor('DSN delivered', async () => (await mailboxOf(s.ctx, 'alice')).length === 1);
  t.same(peer.received.map((m) => m.to), [['bob@dest.test']], 'the accepted recipient got the message');
  const [dsn] = await mailboxOf(s.ctx, 'alice');
  t.match(dsn, /^Return-Path: <>\r\nDelivered-To: alice@office\.test\r\n/);
  t.match(dsn, /Subject: Undelivered Mail Returned to Sender/);
  t.match(dsn, /Auto-Submitted: auto-replied/);
  t.match(dsn, /Final-Recipient: rfc822; nobody@dest\.test\r\nAction: failed\r\nStatus: 5\.1\.1\r\nRemote-MTA: dns; mx\.dest\.test\r\nDiagnostic-Code: smtp; 550 5\.1\.1 nobody: no such user here/);
  t.notMatch(dsn, /Final-Recipient: rfc822; bob@/, 'the delivered recipient is not reported');
  t.match(dsn, /Content-Type: text\/rfc822-headers\r\n\r\n[^]*Subject: quarterly figures\r\n/, 'the original header comes back');
  t.notMatch(dsn, /leading dot line/, 'the original body does not');
  await waitFor('queue empty', async () => (await queuedIds(s.spool)).length === 0);
});

t.test('a bounce is never sent to the null sender', async (t) => {
  const s = await setup(t);
  await startPeer(t, MX, s.port, { rcpt: () => '550 5.1.1 no' });
  let failed = 0;
  s.ctx.bus.on('delivery.failed', () => failed++);
  const entry = await queueMessage(s.ctx, s.spool, { from: '', to: ['bob@dest.test'] });
  s.qmgr.enqueue(entry.id);
  await waitFor('failure recorded', () => failed === 1);
  await waitFor('queue empty', async () => (await queuedIds(s.spool)).length === 0);
  t.same(await mailboxOf(s.ctx, 'alice'), []);
});

t.test('after queue.delayWarningHours the sender gets one "delayed" notice, and the message stays queued', async (t) => {
  const s = await setup(t);
  await startPeer(t, MX, s.port, { rcpt: () => '452 4.2.2 mailbox full' });
  const fiveHoursAgo = Date.now() - 5 * 3600_000;
  const entry = await queueMessage(s.ctx, s.spool, { to: ['bob@dest.test'], received: fiveHoursAgo });
  s.qmgr.enqueue(entry.id);
  await waitFor('delay notice', async () => (await mailboxOf(s.ctx, 'alice')).length === 1);
  const [notice] = await mailboxOf(s.ctx, 'alice');
  t.match(notice, /Subject: Delayed Mail \(still being retried\)/);
  t.match(notice, /Action: delayed\r\nStatus: 4\.2\.2\r\n/);
  t.match(notice, /Will-Retry-Until: /);
  const left = await s.spool.load(entry.id);
  t.equal(left.delayWarned, true);
  t.equal(left.rcpts[0]!.status, 'pending');
  s.qmgr.flush();
  await waitFor('second attempt', async () => (await s.spool.load(entry.id)).rcpts[0]!.attempts === 2);
  await new Promise((r) => setTimeout(r, 300));
  t.equal((await mailboxOf(s.ctx, 'alice')).length, 1, 'only one delay notice');
});

t.test('a message older than queue.maxAgeHours bounces with the last temporary reply', async (t) => {
  const s = await setup(t);
  await startPeer(t, MX, s.port, { rcpt: () => '451 4.3.0 try later' });
  const entry = await queueMessage(s.ctx, s.spool, { to: ['bob@dest.test'], received: Date.now() - 121 * 3600_000 });
  s.qmgr.enqueue(entry.id);
  await waitFor('bounce', async () => (await mailboxOf(s.ctx, 'alice')).length === 1);
  const [dsn] = await mailboxOf(s.ctx, 'alice');
  t.match(dsn, /Action: failed\r\nStatus: 5\.4\.7\r\n/);
  t.match(dsn, /451 4\.3\.0 try later \(mx\.dest\.test \[127\.0\.0\.30\]\); gave up after 120 hours in the queue/);
});
