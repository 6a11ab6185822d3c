import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore } from '../../src/config/store.ts';
import { fakeGpio, transitions } from './fixtures/fake-sysfs.ts';
import { spawnBoard } from './fixtures/spawn-board.ts';
import { startMosquitto, watch } from '../telemetry/fixtures/mosquitto.ts';

// Pi 4 on Linux >= 6.6: the header chip starts at 512; the firmware GPIO expander sits above it.
const PI4_CHIPS = [
  { name: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 },
  { name: 'gpiochip570', label: 'raspberrypi-exp-gpio', base: 570, ngpio: 8 },
];
const LED = { ready: 512 + 17, mail: 512 + 27, alert: 512 + 22, heartbeat: 512 + 23 };
const denied = { client: '203.0.113.9', helo: 'spam', from: 'x@spam.example', rcpt: 'victim@foreign.example', reason: 'relay denied' };
const base = 'yubin/mx1_example_jp';

t.test('three denied relays light the alert LED (fake sysfs toggles), publish one alert on MQTT; `alert ack` on the console clears both', async (t) => {
  const sysfs = await fakeGpio(t, PI4_CHIPS);
  const broker = await startMosquitto(t);
  const mq = await watch(t, broker.url, [`${base}/#`]);
  const dataDir = await mkdtemp(join(tmpdir(), 'yubin-board-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const store = await ConfigStore.open(dataDir);
  for (const [k, v] of Object.entries({ 'board.leds': 'gpio', 'board.profile': 'pi4', 'mqtt.url': broker.url, hostname: 'mx1.example.jp' })) store.stage(k, v);
  await store.commit();

  const board = spawnBoard(t, dataDir, sysfs.classDir);
  t.same(await board.ready, { ready: true }, 'board started with real onoff on the fake tree');
  t.same([...sysfs.exported].sort(), Object.values(LED).sort(), 'BCM 17/27/22/23 exported as 529/539/534/535 (base 512 + BCM)');
  t.equal(await sysfs.value(LED.ready), '1', 'ready LED steady on');
  const heartbeat = await sysfs.sample(LED.heartbeat, 20, 1300);
  t.ok(transitions(heartbeat) >= 3, `heartbeat pulses (${transitions(heartbeat)} changes in 1.3 s)`);
  const quiet = await sysfs.sample(LED.alert, 20, 400);
  t.same(new Set(quiet), new Set(['0']), 'alert LED dark before any attack');

  for (let i = 0; i < 3; i++) await board.send({ emit: 'relay.denied', payload: denied });
  const alert = await mq.waitFor((m) => m.topic === `${base}/alert`, 5000, 'alert on MQTT');
  t.match(JSON.parse(alert.text), { kind: 'relay-attack', source: '203.0.113.9', count: 3, severity: 'critical' });
  const blinking = await sysfs.sample(LED.alert, 20, 1000);
  t.ok(transitions(blinking) >= 5, `alert LED fast-blinks: ${transitions(blinking)} changes in 1 s (${blinking.join('')})`);
  await board.send({ emit: 'relay.denied', payload: denied });
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(mq.on(`${base}/alert`).length, 1, 'exactly one alert published for the attack');
  const stillBlinking = await sysfs.sample(LED.alert, 20, 600);
  t.ok(transitions(stillBlinking) >= 3, 'latched: still blinking until acknowledged');

  t.same(await board.send({ console: 'alert ack 7' }), { code: 2, out: '', err: 'alert ack: no active alert with id "7" (see \'show alerts\')\n' }, 'an unknown id is refused by name');
  t.same(await board.send({ console: 'alert ack' }), { code: 0, out: 'acknowledged #1\n', err: '' }, '`alert ack` on the console clears the alert');
  const shown = await board.send({ console: 'show alerts' });
  t.match(shown.out, /^#1 \S+ critical relay-attack 203\.0\.113\.9 ×4 \[ack\] relay attack from 203\.0\.113\.9/, 'show alerts lists it as acknowledged');
  const status = await board.send({ console: 'show status' });
  t.match(status.out, /guard: 4 relays denied, 0 early talkers, 0 login failures, 0 viruses, 0 OP25B blocked, 0 active alerts\n/, 'show status counts the attempts');
  t.match(status.out, /mqtt: connected to mqtt:\/\/127\.0\.0\.1:\d+, \d+ sent, 0 waiting, 0 dropped\n/);
  await mq.waitFor((m) => m.topic === `${base}/alert/cleared`, 3000, 'cleared on MQTT');
  const after = await sysfs.sample(LED.alert, 20, 500);
  t.same(new Set(after), new Set(['0']), 'alert LED dark after ack');

  await board.send({ emit: 'message.received', payload: { queueId: 'q1', client: '192.0.2.1', from: 'a@b.example', rcpts: ['c@d.example'], size: 10, listener: 'mta' } });
  const mail = await sysfs.sample(LED.mail, 20, 800);
  t.ok(transitions(mail) >= 2, `mail LED blinks on activity (${mail.join('')})`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.equal(await sysfs.value(LED.mail), '0', 'and goes dark when mail stops');

  t.same(await board.send({ stop: true }), { stopped: true });
  t.equal(await board.exited, 0);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await sysfs.settled();
  t.same([...sysfs.exported], [], 'every line unexported on stop');
});
