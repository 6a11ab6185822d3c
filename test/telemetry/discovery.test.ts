import t from 'tap';
import { createAlertEngine } from '../../src/alerts/engine.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { createMqttService } from '../../src/telemetry/mqtt.ts';
import { makeContext } from '../alerts/fixtures/context.ts';
import { startMosquitto, watch, type Seen } from './fixtures/mosquitto.ts';

// Required fields per entity type, from Home Assistant's MQTT integration docs
// (home-assistant.io/integrations/sensor.mqtt, binary_sensor.mqtt, event.mqtt, button.mqtt,
// and /integrations/mqtt "Discovery messages" and the device block).
type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string' && v.length > 0;
const strList: Check = (v) => Array.isArray(v) && v.length > 0 && v.every(str);
const REQUIRED: Record<string, Record<string, Check>> = {
  sensor: { state_topic: str },
  binary_sensor: { state_topic: str },
  event: { state_topic: str, event_types: strList },
  button: { command_topic: str },
};
/** A device block needs at least one of identifiers or connections, and the entity a unique_id. */
function deviceProblems(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const device = config.device as Record<string, unknown> | undefined;
  if (device === undefined) return problems;
  if (!str(config.unique_id)) problems.push('device given without unique_id');
  if (!strList(device.identifiers) && !Array.isArray(device.connections)) problems.push('device needs identifiers or connections');
  return problems;
}
const TOPIC = /^homeassistant\/(sensor|binary_sensor|event|button)\/([a-zA-Z0-9_-]+)\/([a-zA-Z0-9_-]+)\/config$/;

function problemsOf(m: Seen): string[] {
  const match = TOPIC.exec(m.topic);
  if (!match) return [`topic ${m.topic} is not <prefix>/<component>/<node_id>/<object_id>/config`];
  const component = match[1]!;
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(m.text) as Record<string, unknown>;
  } catch {
    return [`${m.topic}: payload is not JSON`];
  }
  const problems = Object.entries(REQUIRED[component]!)
    .filter(([field, ok]) => !ok(config[field]))
    .map(([field]) => `${m.topic}: required ${field} missing or wrong`);
  return [...problems, ...deviceProblems(config).map((p) => `${m.topic}: ${p}`)];
}

t.test('Home Assistant per-entity discovery: every payload has the required fields of its entity type, one device, retained', async (t) => {
  const broker = await startMosquitto(t);
  // The per-entity form (Home Assistant before 2024.11), kept behind mqtt.discovery.
  const ctx = await makeContext(t, { 'mqtt.url': broker.url, hostname: 'mx1.example.jp', 'board.profile': 'pi5', 'mqtt.metricsInterval': '1', 'mqtt.discovery': 'entity' });
  const alerts = createAlertEngine(ctx);
  const metrics = createMetrics(ctx);
  const mqtt = createMqttService(ctx, alerts, metrics, { version: '1.2.3' });
  for (const s of [alerts, metrics, mqtt]) await s.start();
  t.teardown(async () => { await mqtt.stop(); await metrics.stop(); await alerts.stop(); });

  const ha = await watch(t, broker.url, ['homeassistant/#', 'yubin/#']);
  await ha.waitFor((m) => m.topic.endsWith('/metrics'), 4000, 'metrics');
  await ha.waitFor(() => ha.seen.filter((m) => m.topic.endsWith('/config')).length >= 16, 3000, 'all discovery').catch(() => undefined);
  const configs = ha.seen.filter((m) => m.topic.startsWith('homeassistant/') && m.topic.endsWith('/config'));
  const byComponent = (c: string) => configs.filter((m) => m.topic.startsWith(`homeassistant/${c}/`));
  t.equal(byComponent('sensor').length, 13, 'a sensor per metric');
  t.equal(byComponent('binary_sensor').length, 1, 'one "under attack" binary sensor');
  t.equal(byComponent('event').length, 2, 'alert and alert-cleared event entities');
  t.equal(byComponent('button').length, 1, 'an acknowledge button');
  t.same(configs.flatMap(problemsOf), [], 'no required field missing');
  // Retained as a Home Assistant that starts later sees it: a new subscriber gets every config with
  // the retain flag. (The first watcher may have subscribed before they were published, and MQTT
  // 3.1.1 clears the flag on live delivery: reading it there raced with start-up.)
  const later = await watch(t, broker.url, ['homeassistant/#']);
  const laterConfigs = () => later.seen.filter((m) => m.topic.endsWith('/config'));
  await later.waitFor(() => laterConfigs().length >= configs.length, 3000, 'retained discovery').catch(() => undefined);
  t.equal(laterConfigs().length, configs.length, 'a later subscriber gets every discovery config');
  t.ok(laterConfigs().every((m) => m.retain), 'discovery is retained (HA restarts find it)');

  const parsed = configs.map((m) => JSON.parse(m.text) as Record<string, unknown> & { device: Record<string, unknown>; unique_id: string });
  t.equal(new Set(parsed.map((p) => JSON.stringify(p.device))).size, 1, 'one device block shared by all entities');
  t.match(parsed[0]!.device, { identifiers: ['yubin_mx1_example_jp'], name: 'Yubin mx1.example.jp', manufacturer: 'Yubin', model: 'pi5 (all-in-one)', sw_version: '1.2.3' });
  t.equal(new Set(parsed.map((p) => p.unique_id)).size, parsed.length, 'unique_ids are unique');

  const attack = parsed.find((p) => p.unique_id.endsWith('under_attack'))!;
  t.match(attack, { name: 'Under attack', state_topic: 'yubin/mx1_example_jp/attack', payload_on: 'ON', payload_off: 'OFF', device_class: 'safety' });
  const event = parsed.find((p) => p.unique_id.endsWith('_alert'))!;
  t.ok((event.event_types as string[]).includes('relay-attack'));

  // Every sensor's template names a key present in the metrics the board really publishes.
  const sample = JSON.parse(ha.seen.find((m) => m.topic.endsWith('/metrics'))!.text) as Record<string, unknown>;
  for (const p of parsed.filter((x) => typeof x.value_template === 'string')) {
    const key = /value_json\.(\w+)/.exec(p.value_template as string)?.[1];
    t.ok(key !== undefined && key in sample, `${p.unique_id} reads ${key} from the metrics`);
  }
  for (const p of parsed) t.equal(p.availability_topic, 'yubin/mx1_example_jp/availability');

  // Home Assistant restarts and sends its birth message: discovery is sent again.
  const before = configs.length;
  ha.client.publish('homeassistant/status', 'online', { qos: 1 });
  await ha.waitFor(() => ha.seen.filter((m) => m.topic.endsWith('/config')).length >= before * 2, 3000, 're-announce');
  const again = ha.seen.filter((m) => m.topic.endsWith('/config')).slice(before);
  t.equal(again.length, before, 'every entity re-announced on the birth message');
  t.same(again.flatMap(problemsOf), []);
  ha.client.publish('homeassistant/status', 'offline', { qos: 1 });
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(ha.seen.filter((m) => m.topic.endsWith('/config')).length, before * 2, "HA's will (offline) does not trigger discovery");
});
