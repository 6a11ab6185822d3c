// End to end on the router side: namespaces made here (lan host ─ router ─ wan host), Yubin's
// firewall in the router namespace, its alert engine, MQTT link and LEDs in one board process.
import t from 'tap';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigStore } from '../../src/config/store.ts';
import { fakeGpio, transitions } from './fixtures/fake-sysfs.ts';
import { spawnBoard } from './fixtures/spawn-board.ts';
import { startMosquitto, watch } from '../telemetry/fixtures/mosquitto.ts';

const run = promisify(execFile);
const id = randomBytes(3).toString('hex');
const NS = { lan: `yl-lan-${id}`, router: `yl-rtr-${id}`, wan: `yl-wan-${id}` };
const LAN_HOST = '10.253.1.2';
const WAN_HOST = '10.253.2.2';
const ALERT_LED = 512 + 22;
const base = 'yubin/gw_example_jp';

const sh = async (...args: string[]) => (await run(args[0]!, args.slice(1), { timeout: 10_000 })).stdout;
const listeners: ChildProcess[] = [];

t.teardown(async () => {
  for (const c of listeners) c.kill();
  for (const ns of Object.values(NS)) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
});

async function makeNetwork(): Promise<void> {
  for (const ns of Object.values(NS)) await sh('ip', 'netns', 'add', ns);
  await sh('ip', '-n', NS.router, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.lan);
  await sh('ip', '-n', NS.router, 'link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.wan);
  await sh('ip', '-n', NS.router, 'addr', 'add', '10.253.1.1/24', 'dev', 'lan0');
  await sh('ip', '-n', NS.router, 'addr', 'add', '10.253.2.1/24', 'dev', 'wan0');
  await sh('ip', '-n', NS.lan, 'addr', 'add', `${LAN_HOST}/24`, 'dev', 'eth0');
  await sh('ip', '-n', NS.wan, 'addr', 'add', `${WAN_HOST}/24`, 'dev', 'eth0');
  for (const [ns, dev] of [[NS.router, 'lan0'], [NS.router, 'wan0'], [NS.lan, 'eth0'], [NS.wan, 'eth0'], [NS.lan, 'lo'], [NS.wan, 'lo'], [NS.router, 'lo']] as const) {
    await sh('ip', '-n', ns, 'link', 'set', dev, 'up');
  }
  await sh('ip', '-n', NS.lan, 'route', 'add', 'default', 'via', '10.253.1.1');
  await sh('ip', '-n', NS.wan, 'route', 'add', 'default', 'via', '10.253.2.1');
  await sh('ip', 'netns', 'exec', NS.router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  // A mail server on the WAN side, so that "refused" can only come from the router's rule.
  const mx = spawn('ip', ['netns', 'exec', NS.wan, 'socat', '-u', `TCP-LISTEN:25,bind=${WAN_HOST},fork,reuseaddr`, 'OPEN:/dev/null'], { stdio: 'ignore' });
  listeners.push(mx);
  const deadline = Date.now() + 5000;
  while (!(await sh('ip', 'netns', 'exec', NS.wan, 'ss', '-Hltn', 'sport = :25')).includes(`${WAN_HOST}:25`)) {
    if (Date.now() > deadline) throw new Error('WAN mail server did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A LAN host (a bot) opens TCP/25 straight to the Internet: 'open' or 'refused'. */
async function lanToWan25(): Promise<string> {
  try {
    await run('ip', ['netns', 'exec', NS.lan, 'socat', '-u', 'OPEN:/dev/null', `TCP:${WAN_HOST}:25,connect-timeout=2`], { timeout: 8000 });
    return 'open';
  } catch (err) {
    return /refused/i.test(String((err as { stderr?: string }).stderr)) ? 'refused' : `error ${String(err)}`;
  }
}

t.test('a LAN bot sending straight to wan:25 is refused, counted, alerted on MQTT and on the alert LED', async (t) => {
  await makeNetwork();
  t.equal(await lanToWan25(), 'open', 'without Yubin the bot reaches the WAN mail server');
  const sysfs = await fakeGpio(t, [{ name: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 }]);
  const broker = await startMosquitto(t);
  const mq = await watch(t, broker.url, [`${base}/alert`, `${base}/alert/cleared`, `${base}/attack`]);
  const dataDir = await mkdtemp(join(tmpdir(), 'yubin-op25b-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const store = await ConfigStore.open(dataDir);
  const settings = {
    hostname: 'gw.example.jp', 'board.leds': 'gpio', 'board.profile': 'pi4', 'mqtt.url': broker.url,
    'op25b.enabled': 'true', 'op25b.lanInterface': 'lan0', 'op25b.wanInterface': 'wan0', 'op25b.pollSeconds': '1',
  };
  for (const [k, v] of Object.entries(settings)) store.stage(k, v);
  await store.commit();

  const board = spawnBoard(t, dataDir, sysfs.classDir, { YUBIN_TEST_ROUTER_NETNS: NS.router });
  t.same(await board.ready, { ready: true }, 'board up: firewall applied in the router namespace');
  t.equal(await lanToWan25(), 'refused', 'OP25B: the bot is refused');

  const alert = await mq.waitFor((m) => m.topic === `${base}/alert`, 6000, 'OP25B alert on MQTT');
  t.match(JSON.parse(alert.text), { kind: 'op25b', source: LAN_HOST, severity: 'warning', count: 1 });
  t.match(JSON.parse(alert.text).text, new RegExp(`LAN host ${LAN_HOST.replaceAll('.', '\\.')} .*TCP/25`));
  await mq.waitFor((m) => m.topic === `${base}/attack` && m.text === 'ON', 3000, 'under attack ON');
  const blinking = await sysfs.sample(ALERT_LED, 20, 1000);
  t.ok(transitions(blinking) >= 5, `alert LED fast-blinks (${blinking.join('')})`);

  t.same(await board.send({ ack: null }), { acked: ['1'] }, 'alert ack');
  await mq.waitFor((m) => m.topic === `${base}/alert/cleared`, 3000, 'cleared on MQTT');
  const after = await sysfs.sample(ALERT_LED, 20, 400);
  t.same(new Set(after), new Set(['0']), 'alert LED dark after ack');
  t.same(await board.send({ stop: true }), { stopped: true });
  t.notMatch(await sh('ip', 'netns', 'exec', NS.router, 'nft', 'list', 'tables'), /yubin/, 'rules removed on stop');
});
