// The DNS watch in the running firmware: the good zone raises nothing; removing the DKIM record
// raises a dns-record alert (show alerts) within one check period, naming the record and its fix;
// putting it back resolves the alert by itself.
import t from 'tap';
import { startDnsServer } from '../support/dns-server.ts';
import { seed, tempDir } from '../support/firmware.ts';
import { startFirmware } from '../../firmware/supervisor.ts';
import { runCommand } from '../../firmware/commands/index.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import type { Alert, ClearedAlert } from '../../src/events/alerts.ts';
import type { EventMap } from '../../src/events/bus.ts';
import { DOMAIN, clean, goodZone, makeKeys, settingsFor } from './fixtures.ts';

const PERIOD = 5;

t.test('removing the DKIM record raises an alert within one check period; restoring it resolves the alert', async (t) => {
  const dataDir = await tempDir(t);
  const keys = await makeKeys(dataDir);
  const good = clean(goodZone(keys));
  const dns = await startDnsServer(t, good);
  await seed(dataDir, { ...settingsFor(dns.address), 'dnsrecords.watchInterval': PERIOD, 'smtp.port': 0, 'smtp.submissionPort': 0, 'smtp.smtpsPort': 0, 'pop3.port': 0, 'pop3.tlsPort': 0 });
  // Ports 0 keep the listeners closed; the records then say the services are not offered.
  const zone = { ...good };
  for (const s of ['submission', 'submissions', 'pop3', 'pop3s']) zone[`_${s}._tcp.${DOMAIN}`] = { SRV: [{ priority: 0, weight: 0, port: 0, target: '.' }] };
  dns.setZone(zone);
  const fw = await startFirmware({ dataDir, ephemeralPorts: true, log: stderrLogger('error') });
  t.teardown(() => fw.stop());
  const raised: Alert[] = [];
  fw.ctx.bus.on('alert.raised', (a) => void raised.push(a));

  const checked = await nextCheck(fw.ctx.bus);
  t.same(checked.domains.map((d) => [d.domain, d.state]), [['mx.yubin.test', 'ok'], [DOMAIN, 'ok']], 'the good zone: every domain ok');
  t.same(raised, [], 'no alert');

  const { [`yubin-rsa._domainkey.${DOMAIN}`]: _removed, ...withoutDkim } = zone;
  dns.setZone(withoutDkim);
  const removedAt = Date.now();
  const alert = await new Promise<Alert>((resolve) => fw.ctx.bus.on('alert.raised', (a) => void (a.kind === 'dns-record' && resolve(a))));
  const took = (Date.now() - removedAt) / 1000;
  t.ok(took <= PERIOD + 2, `alert ${took.toFixed(1)} s after the record went (check period ${PERIOD} s)`);
  t.equal(alert.source, DOMAIN);
  t.equal(alert.severity, 'warning');
  t.match(alert.text, `DNS of ${DOMAIN} needs fixing`);
  t.match(alert.text, `DKIM yubin-rsa: missing (no DKIM key record at yubin-rsa._domainkey.${DOMAIN})`);
  t.match(alert.text, `publish: yubin-rsa._domainkey.${DOMAIN}. 3600 IN TXT (`);

  let out = '';
  await runCommand(['show', 'alerts'], { ctx: fw.ctx, surface: 'console', out: { write: (s) => void (out += s) }, err: { write: (s) => void (out += s) }, prompt: async () => null, hooks: fw.hooks });
  t.match(out, new RegExp(`^#\\d+ \\S+ warning dns-record ${DOMAIN.replace('.', '\\.')} ×1 \\[active\\] DNS of ${DOMAIN.replace('.', '\\.')} needs fixing`, 'm'), 'show alerts lists it');

  dns.setZone(zone);
  const cleared = await new Promise<ClearedAlert>((resolve) => fw.ctx.bus.on('alert.cleared', (a) => void (a.kind === 'dns-record' && resolve(a))));
  t.equal(cleared.reason, 'resolved', 'the record back: the alert resolves by itself');
  t.equal(raised.filter((a) => a.kind === 'dns-record').length, 1, 'one alert for the one breakage');
});

function nextCheck(bus: { on: (n: 'dns.checked', l: (p: EventMap['dns.checked']) => void) => () => void }): Promise<EventMap['dns.checked']> {
  return new Promise((resolve) => {
    const off = bus.on('dns.checked', (p) => {
      off();
      resolve(p);
    });
  });
}
