import t from 'tap';
import { createAlertEngine } from '../../src/alerts/engine.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { createMqttService } from '../../src/telemetry/mqtt.ts';
import { makeContext, recordingLogger } from '../alerts/fixtures/context.ts';
import { startMosquitto, watch, freePort } from './fixtures/mosquitto.ts';

const denied = (client: string) => ({ client, helo: 'x', from: 'a@b.example', rcpt: 'c@foreign.example', reason: 'relay denied' });
const base = 'yubin/mx1_example_jp';

async function board(t: { teardown(fn: () => unknown): void }, url: string, settings: Record<string, string> = {}) {
  const log = recordingLogger();
  const ctx = await makeContext(t, { 'mqtt.url': url, hostname: 'mx1.example.jp', 'mqtt.reconnectSeconds': '1', ...settings }, log);
  const alerts = createAlertEngine(ctx);
  const metrics = createMetrics(ctx);
  const mqtt = createMqttService(ctx, alerts, metrics, { version: '0.1.0-test' });
  for (const s of [alerts, metrics, mqtt]) await s.start();
  t.teardown(async () => { await mqtt.stop(); await metrics.stop(); await alerts.stop(); });
  return { ctx, alerts, metrics, mqtt, log };
}

t.test('availability is retained online; a clean stop says offline', async (t) => {
  const broker = await startMosquitto(t);
  const { mqtt } = await board(t, broker.url);
  const w = await watch(t, broker.url, [`${base}/availability`]);
  const online = await w.waitFor((m) => m.text === 'online', 5000, 'online');
  t.equal(online.topic, `${base}/availability`);
  const late = await watch(t, broker.url, [`${base}/availability`]);
  const retained = await late.waitFor(() => true, 3000, 'retained availability');
  t.match(retained, { text: 'online', retain: true }, 'a dashboard connecting later sees the retained state');
  await mqtt.stop();
  await w.waitFor((m) => m.text === 'offline', 3000, 'offline');
  t.pass('offline published on stop');
});

t.test('three denied relays from one client publish exactly one alert as JSON and set "under attack"', async (t) => {
  const broker = await startMosquitto(t);
  const w = await watch(t, broker.url, [`${base}/alert`, `${base}/alert/cleared`, `${base}/attack`, `${base}/result`]);
  const { ctx, mqtt } = await board(t, broker.url);
  await w.waitFor((m) => m.topic === `${base}/attack` && m.text === 'OFF', 5000, 'attack OFF at connect');
  for (let i = 0; i < 3; i++) ctx.bus.emit('relay.denied', denied('203.0.113.9'));
  ctx.bus.emit('relay.denied', denied('203.0.113.9')); // a fourth only raises the latched count
  const alert = await w.waitFor((m) => m.topic === `${base}/alert`, 5000, 'alert');
  const body = JSON.parse(alert.text) as Record<string, unknown>;
  t.match(body, { event_type: 'relay-attack', kind: 'relay-attack', severity: 'critical', source: '203.0.113.9', count: 3, id: '1' });
  t.match(body.text, /relay attack from 203\.0\.113\.9/);
  t.equal(typeof body.time, 'string');
  await w.waitFor((m) => m.topic === `${base}/attack` && m.text === 'ON', 3000, 'attack ON');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(w.on(`${base}/alert`).length, 1, 'exactly one alert published');

  // The dashboard's ack button: the command topic accepts alert/ack only.
  w.client.publish(`${base}/command/alert/ack`, 'all', { qos: 1 });
  const result = await w.waitFor((m) => m.topic === `${base}/result`, 3000, 'ack result');
  t.same(JSON.parse(result.text), { command: 'alert/ack', ok: true, cleared: ['1'] });
  const cleared = await w.waitFor((m) => m.topic === `${base}/alert/cleared`, 3000, 'cleared');
  t.match(JSON.parse(cleared.text), { event_type: 'ack', id: '1', count: 4 });
  await w.waitFor((m) => m.topic === `${base}/attack` && m.text === 'OFF' && m.at >= cleared.at, 3000, 'attack OFF after ack');
  t.equal(mqtt.status().connected, true);
});

t.test('the command topic refuses anything but alert/ack, and unknown alert ids', async (t) => {
  const broker = await startMosquitto(t);
  const w = await watch(t, broker.url, [`${base}/result`]);
  const { alerts } = await board(t, broker.url, { 'alerts.relayThreshold': '1' });
  await w.waitFor(() => false, 300).catch(() => undefined); // let the board subscribe
  w.client.publish(`${base}/command/restart`, '', { qos: 1 });
  const refused = await w.waitFor(() => true, 3000, 'refusal');
  t.same(JSON.parse(refused.text), { command: 'restart', ok: false, error: 'unknown command "restart": only alert/ack is accepted' });
  w.client.publish(`${base}/command/alert/ack`, '42', { qos: 1 });
  const unknown = await w.waitFor((m) => m !== refused, 3000, 'unknown id');
  t.match(JSON.parse(unknown.text), { command: 'alert/ack', ok: false, error: /no active alert with id "42"/ });
  t.same(alerts.active(), []);
});

t.test('metrics are published every mqtt.metricsInterval with counters from the bus', async (t) => {
  const broker = await startMosquitto(t);
  const w = await watch(t, broker.url, [`${base}/metrics`]);
  const { ctx } = await board(t, broker.url, { 'mqtt.metricsInterval': '1' });
  ctx.bus.emit('message.received', { queueId: 'q1', client: '192.0.2.1', from: 'a@b.example', rcpts: ['x@y.example'], size: 100, listener: 'mta' });
  ctx.bus.emit('message.received', { queueId: 'q2', client: '192.0.2.1', from: 'a@b.example', rcpts: ['x@y.example'], size: 100, listener: 'mta' });
  ctx.bus.emit('message.delivered', { queueId: 'q1', rcpt: 'x@y.example', route: 'local' });
  ctx.bus.emit('message.rejected', { client: '192.0.2.7', from: '', code: 554, text: 'relay denied' });
  ctx.bus.emit('relay.denied', denied('192.0.2.7'));
  ctx.bus.emit('smtp.early_talker', { client: '192.0.2.10', listener: 'mta' });
  ctx.bus.emit('auth.failed', { service: 'smtp', client: '192.0.2.8', user: 'root' });
  ctx.bus.emit('virus.found', { client: '192.0.2.9', from: 'a@b.example', signature: 'Eicar-Test-Signature' });
  ctx.bus.emit('op25b.blocked', { source: '192.168.1.23', count: 4 });
  ctx.bus.emit('queue.backlog', { depth: 7 });
  const m = await w.waitFor((x) => (JSON.parse(x.text) as { messagesIn: number }).messagesIn === 2, 4000, 'metrics with 2 in');
  const body = JSON.parse(m.text) as Record<string, number | null>;
  t.match(body, { messagesIn: 2, messagesOut: 1, messagesRejected: 1, relaysDenied: 1, earlyTalkers: 1, authFailures: 1, viruses: 1, op25bHits: 4, queueDepth: 7, activeAlerts: 2 });
  t.ok(body.rssBytes! > 10 * 1024 * 1024, 'RSS is the real process size');
  t.ok(body.uptimeSeconds! >= 0);
  t.ok(body.diskFreeBytes! > 0, 'disk free of the data folder');
});

t.test('broker down: emitting never blocks, the buffer stays bounded, and the newest alerts arrive once it is up', async (t) => {
  const port = await freePort();
  const url = `mqtt://127.0.0.1:${port}`;
  const { ctx, mqtt, alerts } = await board(t, url, {
    'alerts.relayThreshold': '1', 'mqtt.offlineBuffer': '10', 'mqtt.reconnectSeconds': '2', 'mqtt.metricsInterval': '1',
  });
  const started = performance.now();
  for (let i = 0; i < 2000; i++) {
    ctx.bus.emit('relay.denied', denied(`198.51.100.${i % 250}`));
    ctx.bus.emit('message.received', { queueId: `q${i}`, client: '192.0.2.1', from: 'a@b.example', rcpts: ['x@y.example'], size: 1, listener: 'mta' });
  }
  const elapsed = performance.now() - started;
  t.ok(elapsed < 1000, `4000 events with the broker down took ${elapsed.toFixed(1)} ms`);
  t.comment(`4000 bus events with the broker down: ${elapsed.toFixed(1)} ms`);
  const s = mqtt.status();
  t.equal(s.connected, false);
  t.equal(s.buffered, 10, 'only mqtt.offlineBuffer alerts are kept');
  t.ok(s.dropped >= 240, `older ones were dropped (${s.dropped})`);
  t.equal(alerts.active().length, 250, 'the engine itself is unaffected');

  const broker = await startMosquitto(t, port);
  const w = await watch(t, broker.url, [`${base}/alert`, `${base}/availability`]);
  await w.waitFor((m) => m.topic === `${base}/availability` && m.text === 'online', 8000, 'board reconnects');
  await w.waitFor(() => w.on(`${base}/alert`).length >= 10, 3000, 'buffered alerts').catch(() => undefined);
  const got = w.on(`${base}/alert`).map((m) => (JSON.parse(m.text) as { source: string }).source);
  t.equal(got.length, 10, 'the buffered alerts were delivered');
  t.equal(got.at(-1), '198.51.100.249', 'they are the newest ones, in order');
});

t.test('a committed change of mqtt.url moves the link to the new broker without a restart', async (t) => {
  const first = await startMosquitto(t);
  const second = await startMosquitto(t);
  const w1 = await watch(t, first.url, [`${base}/availability`]);
  const w2 = await watch(t, second.url, [`${base}/availability`]);
  const { ctx, mqtt } = await board(t, '');
  t.equal(mqtt.status().enabled, false, 'off while mqtt.url is empty');
  await ctx.store.set('mqtt.url', first.url);
  ctx.bus.emit('config.changed', { keys: ['mqtt.url'] });
  await w1.waitFor((m) => m.text === 'online', 5000, 'online on the first broker');
  await ctx.store.set('mqtt.url', second.url);
  ctx.bus.emit('config.changed', { keys: [] }); // the CLI's change seen by the file watcher carries no keys
  await w2.waitFor((m) => m.text === 'online', 5000, 'online on the second broker');
  await w1.waitFor((m) => m.text === 'offline', 3000, 'offline on the first broker');
  t.equal(mqtt.status().broker, second.url);
  ctx.bus.emit('config.changed', { keys: ['smtp.maxSize'] });
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(w2.on(`${base}/availability`).filter((m) => m.text === 'online').length, 1, 'unrelated changes do not reconnect');
});

t.test('a frozen broker (connected, never acknowledging) never slows the bus and stays bounded', async (t) => {
  const broker = await startMosquitto(t);
  const w = await watch(t, broker.url, [`${base}/alert`]);
  const { ctx, mqtt } = await board(t, broker.url, { 'alerts.relayThreshold': '1', 'mqtt.offlineBuffer': '20' });
  const deadline = Date.now() + 5000;
  while (!mqtt.status().connected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  process.kill(broker.pid, 'SIGSTOP'); // TCP stays up, nothing answers: PUBACKs never come
  t.teardown(() => { try { process.kill(broker.pid, 'SIGCONT'); } catch { /* already gone */ } });
  const started = performance.now();
  for (let i = 0; i < 1000; i++) ctx.bus.emit('relay.denied', denied(`10.9.${i >> 8}.${i & 255}`)); // 1000 attackers
  const elapsed = performance.now() - started;
  const s = mqtt.status();
  t.comment(`1000 alerts into a frozen broker: ${elapsed.toFixed(1)} ms; in flight ${s.inflight}, waiting ${s.buffered}, dropped ${s.dropped}`);
  t.ok(elapsed < 1000, 'emitting did not wait for the broker');
  t.ok(s.inflight <= 256, `at most 256 unacknowledged in MQTT.js (${s.inflight})`);
  t.equal(s.buffered, 20, 'the newest wait in the bounded outbox (mqtt.offlineBuffer)');
  t.ok(s.dropped >= 1000 - 256 - 20, `older ones beyond that were dropped (${s.dropped})`);
  process.kill(broker.pid, 'SIGCONT');
  const newest = await w.waitFor((m) => m.text.includes('"source":"10.9.3.231"'), 8000, 'the newest alert after thaw');
  t.ok(newest, 'alerts flow again once the broker answers, the newest among them');
  t.comment(`alerts delivered after thaw: ${w.on(`${base}/alert`).length} of 1000 (the rest dropped by design)`);
});
