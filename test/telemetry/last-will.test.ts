import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore } from '../../src/config/store.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { formatStatus } from '../../src/telemetry/status.ts';
import { makeContext } from '../alerts/fixtures/context.ts';
import { spawnBoard } from '../gpio/fixtures/spawn-board.ts';
import { startMosquitto, watch } from './fixtures/mosquitto.ts';

const availability = 'yubin/mx1_example_jp/availability';

t.test('a board that dies without saying goodbye is marked offline by its last will', async (t) => {
  const broker = await startMosquitto(t);
  const w = await watch(t, broker.url, [availability]);
  const dataDir = await mkdtemp(join(tmpdir(), 'yubin-will-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const store = await ConfigStore.open(dataDir);
  for (const [k, v] of Object.entries({ 'board.leds': 'off', 'mqtt.url': broker.url, hostname: 'mx1.example.jp' })) store.stage(k, v);
  await store.commit();

  const board = spawnBoard(t, dataDir);
  t.same(await board.ready, { ready: true });
  const online = await w.waitFor((m) => m.text === 'online', 5000, 'online');
  process.kill(board.pid, 'SIGKILL'); // power cut: no DISCONNECT, so the broker sends the will
  await board.exited;
  const offline = await w.waitFor((m) => m.text === 'offline' && m.at >= online.at, 5000, 'offline from the will');
  t.equal(offline.topic, availability);
  const late = await watch(t, broker.url, [availability]);
  const retained = await late.waitFor(() => true, 3000, 'retained');
  t.match(retained, { text: 'offline', retain: true }, 'the will is retained: a dashboard opened later sees offline');
});

t.test('show status lines count what happened on the bus', async (t) => {
  const ctx = await makeContext(t);
  const metrics = createMetrics(ctx);
  await metrics.start();
  t.teardown(() => metrics.stop());
  ctx.bus.emit('relay.denied', { client: '192.0.2.1', helo: 'x', from: '', rcpt: 'a@b.example', reason: 'relay denied' });
  ctx.bus.emit('op25b.blocked', { source: '192.168.1.5', count: 3 });
  const text = formatStatus(await metrics.snapshot(), { enabled: false, connected: false, broker: '', buffered: 0, dropped: 0, inflight: 0, sent: 0 });
  t.match(text, /^mail: 0 received, 0 delivered, 0 rejected, queue 0, 0 delivery failures\n/);
  t.match(text, /guard: 1 relays denied, 0 early talkers, 0 login failures, 0 viruses, 3 OP25B blocked, 0 active alerts\n/);
  t.match(text, /disk free: \d+\.\d MiB\n/);
  t.match(text, /mqtt: off \(mqtt\.url is empty\)\n$/);
});
