import t, { type Test } from 'tap';
import { startDnsServer } from '../support/dns-server.ts';
import { commonFreePort, makeContext, startPeer, startStation, queueMessage, waitFor, mailboxOf, queuedIds } from '../outbound/fixtures/harness.ts';
import { createHoldService } from '../../src/hold/service.ts';
import { holdUntilFor } from '../../src/hold/hold.ts';
import type { QueueEntry } from '../../src/spool/entry.ts';

const MX = '127.0.0.40';

async function setup(t: Test, delay = '1') {
  const dns = await startDnsServer(t, { 'dest.test': { MX: [{ preference: 10, exchange: 'mx.dest.test' }] }, 'mx.dest.test': { A: [MX] } });
  const port = await commonFreePort([MX]);
  const ctx = await makeContext(t, {
    hostname: 'yubin.office.test',
    domains: 'office.test',
    'dns.servers': dns.address,
    'outbound.port': String(port),
    'hold.delaySeconds': delay,
  });
  await ctx.users.add('alice', 'correct horse battery');
  const station = await startStation(t, ctx);
  const hold = createHoldService(station);
  const peer = await startPeer(t, MX, port);
  /** What the DATA path does: decide the hold, commit, tell the queue, send the notice. */
  const send = async (subject: string, to = ['bob@dest.test']): Promise<QueueEntry> => {
    const entry = await queueMessage(ctx, station.spool, { to, subject, hold: (e) => hold.holdUntil(e) });
    station.qmgr.enqueue(entry.id, entry.holdUntil);
    await hold.queued(entry);
    return entry;
  };
  return { ...station, hold, peer, send };
}

t.test('a held message cancelled by its sender never reaches the peer; one not cancelled arrives after the delay', async (t) => {
  const s = await setup(t, '2');
  const started = Date.now();
  const wrong = await s.send('sent to the wrong bob');
  const right = await s.send('the right one');
  t.ok(wrong.holdUntil! >= started + 2000, 'held for hold.delaySeconds');
  await waitFor('two held notices', async () => (await mailboxOf(s.ctx, 'alice')).length === 2);
  const notices = await mailboxOf(s.ctx, 'alice');
  const notice = notices.find((n) => n.includes(wrong.id))!;
  t.match(notice, /Subject: Held until .*: your message to bob@dest\.test/);
  const address = /(cancel\+\S+@yubin\.office\.test)/.exec(notice)?.[1];
  t.ok(address, `the notice carries a cancel address (${address})`);
  t.match(notice, new RegExp(`yubin queue cancel ${wrong.id}`));

  const forged = address!.replace(/\+([0-9a-f]{20})@/, (_m, tok: string) => `+${tok.replace(/^./, tok[0] === 'a' ? 'b' : 'a')}@`);
  t.match(await s.hold.cancelByAddress(forged), { code: 550, enhanced: '5.7.1', text: /does not match/ }, 'a forged token cancels nothing');
  t.match(await s.hold.cancelByAddress(address!), { code: 250, enhanced: '2.0.0', text: new RegExp(`^cancelled: message ${wrong.id} will not be sent to bob@dest\\.test$`) });
  t.equal(s.peer.received.length, 0, 'nothing left during the delay');

  await waitFor('the uncancelled message arrives', () => s.peer.received.length === 1, 6000);
  t.ok(Date.now() - started >= 2000, `it left only after the delay (${Date.now() - started} ms)`);
  t.match(s.peer.received[0]!.data, /Subject: the right one/);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(s.peer.received.length, 1, 'the cancelled message never reached the peer');
  t.same(await queuedIds(s.spool), []);
  const told = (await mailboxOf(s.ctx, 'alice')).find((m) => m.includes('Subject: Cancelled'));
  t.match(told, new RegExp(`Your message ${wrong.id} was cancelled by the sender and will not be sent to\\r\\n  bob@dest\\.test`), 'the sender is told');
  t.match(await s.hold.cancelByAddress(address!), { code: 550, text: /no such message/ }, 'a second cancel finds nothing');
  void right;
});

t.test('the admin cancels with the queue ID; cancelling again or a non-ID is refused with a clear error', async (t) => {
  const s = await setup(t, '30');
  const events: unknown[] = [];
  s.ctx.bus.on('message.held', (e) => events.push(['held', e.queueId]));
  s.ctx.bus.on('message.cancelled', (e) => events.push(['cancelled', e.queueId, e.by, e.rcpts]));
  const entry = await s.send('oops');
  const done = await s.hold.cancel(entry.id, { kind: 'admin' });
  t.same(done, { id: entry.id, rcpts: ['bob@dest.test'] });
  t.same(events, [['held', entry.id], ['cancelled', entry.id, 'admin', ['bob@dest.test']]], 'held and cancelled are events (MQTT, console)');
  await waitFor('cancel notice', async () => (await mailboxOf(s.ctx, 'alice')).some((m) => m.includes('cancelled by the administrator')));
  await t.rejects(s.hold.cancel(entry.id, { kind: 'admin' }), { name: 'QueueError', message: /no such message in the queue/ });
  await t.rejects(s.hold.cancel('../../config', { kind: 'admin' }), { message: /is not a queue ID/ }, 'a path is not an ID');
  t.equal(s.peer.received.length, 0);
});

t.test('the delay applies to outbound mail for foreign domains only, or to the listed ones', async (t) => {
  const s = await setup(t, '60');
  const remote = { route: { kind: 'remote' as const, domain: 'dest.test' } };
  const local = { route: { kind: 'mailbox' as const, user: 'alice' } };
  const base = { mailFrom: 'alice@office.test', direction: 'outbound' as const };
  const rcpt = (r: typeof remote | typeof local) => ({ original: 'x', address: 'x', status: 'pending' as const, attempts: 0, nextAttempt: 0, ...r });
  t.ok(holdUntilFor({ ...base, rcpts: [rcpt(remote)] }, s.ctx, 1000) === 61_000, 'foreign recipient: held 60 s');
  t.equal(holdUntilFor({ ...base, rcpts: [rcpt(local)] }, s.ctx), undefined, 'local recipients only: not held');
  t.equal(holdUntilFor({ ...base, direction: 'inbound', rcpts: [rcpt(remote)] }, s.ctx), undefined, 'inbound: not held');
  t.equal(holdUntilFor({ ...base, mailFrom: '', rcpts: [rcpt(remote)] }, s.ctx), undefined, 'bounces: not held');
  await s.ctx.store.set('hold.domains', 'other.test');
  t.equal(holdUntilFor({ ...base, rcpts: [rcpt(remote)] }, s.ctx), undefined, 'a domain not listed: not held');
  await s.ctx.store.set('hold.delaySeconds', '0');
  await s.ctx.store.set('hold.domains', '');
  t.equal(holdUntilFor({ ...base, rcpts: [rcpt(remote)] }, s.ctx), undefined, 'hold.delaySeconds 0: off');
});
