import t from 'tap';
import { createAlertEngine } from '../../src/alerts/engine.ts';
import type { Alert, ClearedAlert } from '../../src/events/alerts.ts';
import { makeContext } from './fixtures/context.ts';

const denied = (client: string, rcpt = 'victim@foreign.example') =>
  ({ client, helo: 'spammer', from: 'x@y.example', rcpt, reason: 'relay denied' });

async function setup(t: { teardown(fn: () => unknown): void }, settings: Record<string, string> = {}) {
  const ctx = await makeContext(t, settings);
  let clock = Date.parse('2025-01-01T00:00:00Z');
  const engine = createAlertEngine(ctx, { now: () => clock });
  await engine.start();
  t.teardown(() => engine.stop());
  const raised: Alert[] = [];
  const cleared: ClearedAlert[] = [];
  ctx.bus.on('alert.raised', (a) => raised.push(a));
  ctx.bus.on('alert.cleared', (a) => cleared.push(a));
  return { ctx, engine, raised, cleared, advance: (s: number) => { clock += s * 1000; } };
}

t.test('three denied relays from one client in ten minutes raise exactly one relay-attack alert', async (t) => {
  const { ctx, engine, raised } = await setup(t);
  ctx.bus.emit('relay.denied', denied('203.0.113.9'));
  ctx.bus.emit('relay.denied', denied('203.0.113.9'));
  t.equal(raised.length, 0, 'two attempts are not an attack yet');
  ctx.bus.emit('relay.denied', denied('203.0.113.9', 'last@foreign.example'));
  t.equal(raised.length, 1);
  const a = raised[0]!;
  t.match(a, { kind: 'relay-attack', severity: 'critical', source: '203.0.113.9', count: 3 });
  t.match(a.text, /relay attack from 203\.0\.113\.9: 3 denied relay attempts in 10 min \(last to <last@foreign\.example>\)/);
  ctx.bus.emit('relay.denied', denied('203.0.113.9'));
  t.equal(raised.length, 1, 'a latched alert is not raised again');
  t.equal(engine.active()[0]!.count, 4, 'further attempts raise the latched alert count');
});

t.test('denied relays spread over more than the window do not raise an alert', async (t) => {
  const { ctx, raised, advance } = await setup(t);
  ctx.bus.emit('relay.denied', denied('198.51.100.7'));
  advance(301);
  ctx.bus.emit('relay.denied', denied('198.51.100.7'));
  advance(301);
  ctx.bus.emit('relay.denied', denied('198.51.100.7'));
  t.equal(raised.length, 0, 'the first attempt fell out of the 10-minute window');
  advance(10);
  ctx.bus.emit('relay.denied', denied('198.51.100.7'));
  t.equal(raised.length, 1, 'three inside the window do');
});

t.test('attempts from different clients are counted apart', async (t) => {
  const { ctx, raised } = await setup(t);
  for (const c of ['192.0.2.1', '192.0.2.2', '192.0.2.1', '192.0.2.2']) ctx.bus.emit('relay.denied', denied(c));
  t.equal(raised.length, 0);
});

t.test('threshold and window come from alerts.relayThreshold and alerts.relayWindow', async (t) => {
  const { ctx, raised, advance } = await setup(t, { 'alerts.relayThreshold': '2', 'alerts.relayWindow': '60' });
  ctx.bus.emit('relay.denied', denied('192.0.2.50'));
  advance(61);
  ctx.bus.emit('relay.denied', denied('192.0.2.50'));
  t.equal(raised.length, 0);
  ctx.bus.emit('relay.denied', denied('192.0.2.50'));
  t.equal(raised.length, 1);
  t.match(raised[0]!.text, /2 denied relay attempts in 1 min/);
});

t.test('ack clears one alert by id or all, and emits alert.cleared', async (t) => {
  const { ctx, engine, raised, cleared } = await setup(t, { 'alerts.relayThreshold': '1' });
  ctx.bus.emit('relay.denied', denied('192.0.2.1'));
  ctx.bus.emit('virus.found', { client: '192.0.2.2', from: 'a@b.example', signature: 'Eicar-Test-Signature' });
  ctx.bus.emit('disk.low', { path: '/var/lib/yubin', freeBytes: 50 * 1024 * 1024 });
  t.equal(engine.active().length, 3);
  t.equal(engine.activeCount(), 3);
  t.equal(engine.activeCount(['relay-attack', 'virus']), 2, 'counted by kind for "under attack"');
  t.throws(() => engine.ack('999'), { name: 'UnknownAlertError', id: '999', message: /no active alert with id "999"/ }, 'unknown id is refused');
  const one = engine.ack(raised[1]!.id);
  t.same(one.map((a) => a.kind), ['virus']);
  t.same(cleared.map((c) => [c.kind, c.reason]), [['virus', 'ack']]);
  t.same(engine.active().map((a) => a.kind).sort(), ['disk-low', 'relay-attack']);
  const rest = engine.ack();
  t.equal(rest.length, 2);
  t.same(engine.active(), []);
  t.equal(engine.activeCount(['relay-attack', 'virus', 'disk-low']), 0);
  t.same(engine.recent().map((e) => e.state), ['ack', 'ack', 'ack']);
  t.same(engine.ack(), [], 'nothing left to acknowledge');
});

t.test('after an acknowledged alert the same client stays quiet for the cool-down, then alerts again', async (t) => {
  const { ctx, engine, raised, advance } = await setup(t, { 'alerts.cooldown': '600' });
  const burst = () => { for (let i = 0; i < 3; i++) ctx.bus.emit('relay.denied', denied('203.0.113.66')); };
  burst();
  t.equal(raised.length, 1);
  engine.ack();
  advance(60);
  burst();
  t.equal(raised.length, 1, 'inside the cool-down: no new alert');
  advance(600);
  burst();
  t.equal(raised.length, 2, 'after the cool-down a new attack is a new alert');
  t.not(raised[1]!.id, raised[0]!.id);
});

t.test('OP25B hits count by blocked packets and name the LAN host', async (t) => {
  const { ctx, raised } = await setup(t, { 'alerts.op25bThreshold': '5' });
  ctx.bus.emit('op25b.blocked', { source: '192.168.1.23', count: 2 });
  t.equal(raised.length, 0);
  ctx.bus.emit('op25b.blocked', { source: '192.168.1.23', count: 3 });
  t.match(raised, [{ kind: 'op25b', source: '192.168.1.23', count: 5 }]);
  t.match(raised[0]!.text, /LAN host 192\.168\.1\.23 .*TCP\/25/);
});

t.test('queue backlog alerts only at alerts.queueBacklog depth; a service that comes back resolves its alert', async (t) => {
  const { ctx, engine, raised, cleared } = await setup(t, { 'alerts.queueBacklog': '100' });
  ctx.bus.emit('queue.backlog', { depth: 99 });
  t.equal(raised.length, 0);
  ctx.bus.emit('queue.backlog', { depth: 120 });
  t.match(raised, [{ kind: 'queue-backlog', severity: 'warning', text: 'mail queue backlog: 120 messages waiting' }]);
  ctx.bus.emit('service.down', { service: 'clamd', reason: 'connect ECONNREFUSED /run/clamav/clamd.ctl' });
  t.match(raised[1], { kind: 'service-down', source: 'clamd', severity: 'critical' });
  ctx.bus.emit('service.up', { service: 'clamd' });
  t.match(cleared, [{ kind: 'service-down', reason: 'resolved' }]);
  t.same(engine.active().map((a) => a.kind), ['queue-backlog'], 'the backlog stays latched until acknowledged');
});

t.test('password guessing and failed deliveries have their own thresholds', async (t) => {
  const { ctx, raised } = await setup(t, { 'alerts.authThreshold': '3', 'alerts.deliveryFailureThreshold': '2' });
  for (let i = 0; i < 3; i++) ctx.bus.emit('auth.failed', { service: 'pop3', client: '192.0.2.9', user: 'bob' });
  ctx.bus.emit('delivery.failed', { queueId: 'q1', rcpt: 'a@x.example', code: '550', text: 'no such user', permanent: true });
  ctx.bus.emit('delivery.failed', { queueId: 'q2', rcpt: 'b@x.example', code: '451', text: 'try later', permanent: false });
  t.match(raised, [
    { kind: 'auth-attack', source: '192.0.2.9', text: /3 failed logins in 10 min \(last pop3 user "bob"\)/ },
    { kind: 'delivery-failures', count: 2, text: /<b@x\.example>: 451 try later/ },
  ]);
});

t.test('memory stays bounded: recent list and tracked clients have limits', async (t) => {
  const { ctx, engine } = await setup(t, { 'alerts.recent': '5', 'alerts.maxSources': '16', 'alerts.relayThreshold': '1' });
  for (let i = 0; i < 50; i++) ctx.bus.emit('relay.denied', denied(`10.0.0.${i}`));
  t.equal(engine.recent().length, 5, 'show alerts keeps the newest 5');
  t.equal(engine.recent().at(-1)!.source, '10.0.0.49');
  t.equal(engine.active().length, 16, 'latched alerts are bounded by alerts.maxSources');
  t.equal(engine.active()[0]!.source, '10.0.0.34', 'the oldest gave way');
  engine.ack();
  t.equal(engine.active().length, 0);
});
