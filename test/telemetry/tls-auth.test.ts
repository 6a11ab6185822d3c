import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAlertEngine } from '../../src/alerts/engine.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { createMqttService } from '../../src/telemetry/mqtt.ts';
import { makeContext, recordingLogger } from '../alerts/fixtures/context.ts';
import { startMosquitto, watch, freePort } from './fixtures/mosquitto.ts';

const run = promisify(execFile);
const base = 'yubin/mx1_example_jp';

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-mqtt-tls-'));
  await chmod(dir, 0o755); // mosquitto drops root for its own user and must reach the files
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function board(t: { teardown(fn: () => unknown): void }, settings: Record<string, string>) {
  const log = recordingLogger();
  const ctx = await makeContext(t, { hostname: 'mx1.example.jp', 'mqtt.reconnectSeconds': '1', ...settings }, log);
  const alerts = createAlertEngine(ctx);
  const metrics = createMetrics(ctx);
  const mqtt = createMqttService(ctx, alerts, metrics);
  t.teardown(async () => { await mqtt.stop(); await metrics.stop(); await alerts.stop(); });
  return { ctx, alerts, metrics, mqtt, log };
}

t.test('credentials: a wrong password is logged once however often we retry; the right one connects', async (t) => {
  const dir = await tempDir(t);
  const pw = join(dir, 'passwd');
  await run('mosquitto_passwd', ['-b', '-c', pw, 'yubin', 'right-horse-battery']);
  await chmod(pw, 0o644);
  const broker = await startMosquitto(t, undefined, `allow_anonymous false\npassword_file ${pw}\n`);

  const wrong = await board(t, { 'mqtt.url': broker.url, 'mqtt.username': 'yubin', 'mqtt.password': 'guess' });
  await wrong.mqtt.start();
  await new Promise((resolve) => setTimeout(resolve, 2600)); // two or three reconnect attempts
  const errors = wrong.log.lines.filter((l) => l.message === 'MQTT error');
  t.equal(errors.length, 1, 'one log line, not one per retry');
  t.match(errors[0]!.fields, { broker: broker.url, error: /Not authorized|Bad User Name or Password/i });
  t.equal(wrong.mqtt.status().connected, false);

  const w = await watch(t, `mqtt://yubin:right-horse-battery@127.0.0.1:${broker.port}`, [`${base}/availability`]);
  const right = await board(t, { 'mqtt.url': broker.url, 'mqtt.username': 'yubin', 'mqtt.password': 'right-horse-battery' });
  await right.mqtt.start();
  await w.waitFor((m) => m.text === 'online', 5000, 'online with credentials');
  t.equal(right.mqtt.status().connected, true);
});

t.test('TLS: mqtts with the CA from mqtt.ca connects; an unreadable mqtt.ca is refused naming the key', async (t) => {
  const dir = await tempDir(t);
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'ext.cnf');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=Yubin test CA', '-keyout', caKey, '-out', ca]);
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', csr]);
  await writeFile(ext, 'subjectAltName=IP:127.0.0.1\n');
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert]);
  for (const f of [ca, key, cert]) await chmod(f, 0o644);
  const port = await freePort();
  const broker = await startMosquitto(t, port, `cafile ${ca}\ncertfile ${cert}\nkeyfile ${key}\n`);

  const bad = await board(t, { 'mqtt.url': `mqtts://127.0.0.1:${port}`, 'mqtt.ca': join(dir, 'missing.pem') });
  await t.rejects(bad.mqtt.start(), { message: /^mqtt\.ca: cannot read .*missing\.pem \(ENOENT\)$/ });

  const good = await board(t, { 'mqtt.url': `mqtts://127.0.0.1:${port}`, 'mqtt.ca': ca });
  await good.mqtt.start();
  const deadline = Date.now() + 5000;
  while (!good.mqtt.status().connected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(good.mqtt.status().connected, true, `connected over TLS to ${broker.url.replace('mqtt:', 'mqtts:')}`);

  const untrusted = await board(t, { 'mqtt.url': `mqtts://127.0.0.1:${port}` });
  await untrusted.mqtt.start();
  await new Promise((resolve) => setTimeout(resolve, 800));
  t.equal(untrusted.mqtt.status().connected, false, 'without the CA the broker certificate is not trusted');
  t.match(untrusted.log.lines.find((l) => l.message === 'MQTT error')?.fields, { error: /self[- ]signed|unable to (get|verify)/i });
});
