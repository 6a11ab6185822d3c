// Home Assistant's device-based discovery (HA 2024.11): one retained config with the device, the
// origin, the shared availability and every entity under cmps; a DNS sensor per domain fed by the
// DNS watch of the running firmware; switching forms removes the other form's retained configs.
import t from 'tap';
import { startMosquitto, watch } from './fixtures/mosquitto.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { seed, tempDir } from '../support/firmware.ts';
import { startFirmware } from '../../firmware/supervisor.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { DOMAIN, clean, goodZone, makeKeys, settingsFor } from '../dnsrecords/fixtures.ts';

const REQUIRED: Record<string, string[]> = { sensor: ['state_topic'], binary_sensor: ['state_topic'], event: ['state_topic', 'event_types'], button: ['command_topic'] };

t.test('device discovery: one config with dev, o, availability and cmps; DNS sensors per domain carry the watch verdict', async (t) => {
  const broker = await startMosquitto(t);
  const dataDir = await tempDir(t);
  const keys = await makeKeys(dataDir);
  const dns = await startDnsServer(t, clean(goodZone(keys)));
  await seed(dataDir, { ...settingsFor(dns.address), 'mqtt.url': broker.url, 'dnsrecords.watchInterval': 5, 'smtp.port': 0 });
  // A Home Assistant that had the old per-entity configs of this node retained.
  const ha = await watch(t, broker.url, ['homeassistant/#', 'yubin/#']);
  ha.client.publish('homeassistant/sensor/mx_yubin_test/queue_depth/config', '{"name":"old"}', { qos: 1, retain: true });

  const fw = await startFirmware({ dataDir, ephemeralPorts: true, log: stderrLogger('error') });
  t.teardown(() => fw.stop());

  const device = await ha.waitFor((m) => m.topic === 'homeassistant/device/mx_yubin_test/config', 5000, 'device discovery');
  const config = JSON.parse(device.text) as {
    dev: Record<string, unknown>; o: Record<string, unknown>; availability_topic: string;
    cmps: Record<string, Record<string, unknown> & { p: string; unique_id: string }>;
  };
  t.match(config.dev, { identifiers: ['yubin_mx_yubin_test'], name: 'Yubin mx.yubin.test', manufacturer: 'Yubin' });
  t.match(config.o, { name: 'Yubin', sw: /\d+\.\d+\.\d+/ }, 'the origin names the firmware and its version');
  t.equal(config.availability_topic, 'yubin/mx_yubin_test/availability', 'availability is shared by every component');
  const cmps = Object.entries(config.cmps);
  t.ok(cmps.length >= 19, `${cmps.length} components`);
  for (const [id, c] of cmps) {
    t.ok(REQUIRED[c.p], `${id}: platform ${c.p}`);
    for (const field of REQUIRED[c.p] ?? []) t.ok(c[field] !== undefined, `${id}: ${field}`);
    t.notOk('device' in c || 'availability_topic' in c, `${id}: no own device block or availability`);
  }
  t.equal(new Set(cmps.map(([, c]) => c.unique_id)).size, cmps.length, 'unique ids');
  t.same(cmps.filter(([id]) => id.startsWith('dns_')).map(([, c]) => c.name), ['DNS mx.yubin.test', `DNS ${DOMAIN}`], 'a DNS sensor for the board and per domain');
  t.match(config.cmps.dns_yubin_test, { p: 'sensor', state_topic: 'yubin/mx_yubin_test/dns/yubin_test', json_attributes_topic: 'yubin/mx_yubin_test/dns/yubin_test', value_template: '{{ value_json.state }}' });

  t.match(config.cmps.dmarc_failed_yubin_test, { p: 'sensor', name: `DMARC failures ${DOMAIN}`, state_topic: 'yubin/mx_yubin_test/dmarc/yubin_test', value_template: '{{ value_json.failed }}', state_class: 'total_increasing' },
    'a sensor per domain for mail claiming it that failed DMARC in the reports received');

  const cleared = await ha.waitFor((m) => m.topic === 'homeassistant/sensor/mx_yubin_test/queue_depth/config' && m.text === '', 5000, 'stale entity config removed');
  t.ok(cleared, 'the old per-entity config is removed (empty retained message)');

  // The watch's verdict reaches the sensor's state topic (retained).
  const state = await ha.waitFor((m) => m.topic === 'yubin/mx_yubin_test/dns/yubin_test', 10_000, 'DNS state');
  const body = JSON.parse(state.text) as { state: string; problems: string[]; ready: boolean };
  t.equal(body.state, 'ok');
  t.equal(body.ready, true, 'ready for the big providers');
  t.same(body.problems, []);

  // A broken record shows on the sensor at the next check.
  const { [`_dmarc.${DOMAIN}`]: _gone, ...zone } = clean(goodZone(keys));
  dns.setZone(zone);
  const broken = await ha.waitFor((m) => m.topic === 'yubin/mx_yubin_test/dns/yubin_test' && m.text.includes('"problem"'), 10_000, 'DNS problem');
  const b = JSON.parse(broken.text) as { state: string; problems: string[]; ready: boolean };
  t.equal(b.ready, false);
  t.match(b.problems[0], /^DMARC: missing/);
});
