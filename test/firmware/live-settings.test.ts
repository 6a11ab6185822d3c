// Every `live` setting applies to a running firmware: for each station, a setting changed from the
// CLI in another process (`node firmware/yubin.ts --data DIR config set …`, as an admin would) and
// its effect seen from outside, the way a client or the admin sees it. (The console's settings are
// in test/firmware/stop.test.ts, which runs the console on stdio; the firewall's in
// test/firewall/live-ruleset.test.ts, inside network namespaces.)
import t from 'tap';
import { connect } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, repo, BASE_SETTINGS } from '../support/firmware.ts';
import { run, RawSmtp } from '../support/clients.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { startMosquitto, watch } from '../telemetry/fixtures/mosquitto.ts';
import { startPeer } from '../outbound/fixtures/harness.ts';
import { freePort } from '../support/ports.ts';
import { startFirmware } from '../../firmware/supervisor.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';
import type { Logger } from '../../src/log/logger.ts';

const logLines: string[] = [];
const log: Logger = {
  log(level, message, fields) {
    logLines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    if (level === 'error') process.stderr.write(`${level} ${message} ${JSON.stringify(fields ?? {})}\n`);
  },
};

const dataDir = await tempDir(t);
await seed(dataDir, { ...BASE_SETTINGS, 'board.leds': 'off' }, [{ name: 'alice', password: 'alice-password-1' }]);
const fw = await startFirmware({ dataDir, ephemeralPorts: true, log });
t.teardown(() => fw.stop());
const mta = fw.smtp.ports().mta!;

let changed: string[][] = [];
fw.ctx.bus.on('config.changed', ({ keys }) => void changed.push(keys));

async function yubin(...args: string[]): Promise<string> {
  const r = await run(process.execPath, [join(repo, 'firmware/yubin.ts'), '--data', dataDir, ...args]);
  if (r.code !== 0) throw new Error(`yubin ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** `yubin config set KEY VALUE` in another process; resolves once the running firmware has heard it. */
async function set(key: string, value: string): Promise<void> {
  changed = [];
  await yubin('config', 'set', key, value);
  await until(`the firmware to hear ${key}`, () => changed.some((keys) => keys.includes(key)));
}

async function until(what: string, check: () => unknown, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Sent { greeting: string; ehlo: string; rcpt: string[]; data: string | null }

/** One SMTP transaction; from 127.0.0.2 (outside, untrusted) unless `from` says 127.0.0.1 (trusted). */
async function send(o: { to: string[]; body?: string; headers?: string; mailFrom?: string; client?: string }): Promise<Sent> {
  const c = await RawSmtp.open(mta, o.client ?? '127.0.0.2');
  try {
    const greeting = await c.reply();
    const ehlo = await c.command('EHLO client.example');
    await c.command(`MAIL FROM:<${o.mailFrom ?? 'someone@outside.example'}>`);
    const rcpt: string[] = [];
    for (const to of o.to) rcpt.push(await c.command(`RCPT TO:<${to}>`));
    if (!rcpt.some((r) => r.startsWith('250'))) return { greeting, ehlo, rcpt, data: null };
    await c.command('DATA');
    c.send(`From: <${o.mailFrom ?? 'someone@outside.example'}>\r\nTo: <${o.to[0]}>\r\nSubject: live\r\n${o.headers ?? ''}\r\n${o.body ?? 'hello'}\r\n.\r\n`);
    const data = await c.reply();
    await c.command('QUIT').catch(() => '');
    return { greeting, ehlo, rcpt, data };
  } finally {
    c.close();
  }
}

const mailbox = async (user: string): Promise<string[]> => {
  const dir = join(maildirOf(dataDir, user), 'new');
  const files = (await readdir(dir).catch(() => [] as string[])).sort();
  return Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')));
};

t.test('smtpd: smtp.maxSize changes the EHLO SIZE and the limit; hostname the greeting', async (t) => {
  const before = await send({ to: ['alice@yubin.test'], body: 'x'.repeat(5000) });
  t.match(before.ehlo, /250[- ]SIZE 26214400\r\n/);
  t.match(before.data, /^250 /);
  await set('smtp.maxSize', '4096');
  const after = await send({ to: ['alice@yubin.test'], body: 'x'.repeat(5000) });
  t.match(after.ehlo, /250[- ]SIZE 4096\r\n/, 'EHLO advertises the new SIZE');
  t.match(after.data, /^552 5\.3\.4 Message too big: \d+ bytes sent, limit is 4096/, 'and the new limit is enforced');
  t.match(await fw.hooks.status!(), /mail: \d+ received, \d+ delivered, 1 rejected/, 'show status counts the 552');
  await set('smtp.maxSize', '25M');
  await set('hostname', 'mail2.yubin.test');
  t.match((await send({ to: ['alice@yubin.test'] })).greeting, /^220 mail2\.yubin\.test ESMTP/);
  await set('hostname', 'mx.yubin.test');
});

t.test('domains: a domain added from the CLI is local at once', async (t) => {
  t.match((await send({ to: ['alice@other.test'] })).rcpt[0], /^554 5\.7\.1 /, 'foreign before');
  await yubin('domain', 'add', 'other.test');
  await until('domains', () => fw.ctx.store.get('domains').includes('other.test'));
  t.match((await send({ to: ['alice@other.test'] })).rcpt[0], /^250 /, 'local after');
});

t.test('pop3d: pop3.allowCleartext', async (t) => {
  const userCommand = () => new Promise<string>((resolve, reject) => {
    const s = connect(fw.pop3.ports().pop3!, '127.0.0.1');
    let text = '';
    s.on('data', (d) => {
      text += d.toString();
      if (text.split('\r\n').length === 2) s.write('USER alice\r\n');
      if (text.split('\r\n').length === 3) {
        s.end('QUIT\r\n');
        resolve(text.split('\r\n')[1]!);
      }
    });
    s.on('error', reject);
  });
  t.match(await userCommand(), /^-ERR \[AUTH\] Cleartext logins are disabled/);
  await set('pop3.allowCleartext', 'true');
  t.match(await userCommand(), /^\+OK Send PASS for alice/);
  await set('pop3.allowCleartext', 'false');
});

t.test('alerts: alerts.relayThreshold', async (t) => {
  const relay = (client: string) => send({ client, to: ['victim@foreign.example'] });
  await relay('127.0.0.3');
  t.equal(fw.alerts.active().filter((a) => a.kind === 'relay-attack').length, 0, 'one attempt is below the default threshold of 3');
  await set('alerts.relayThreshold', '1');
  await relay('127.0.0.4');
  t.match(fw.alerts.active().filter((a) => a.kind === 'relay-attack'), [{ source: '127.0.0.4' }], 'one attempt is an alert now');
});

t.test('mqtt: mqtt.url connects the running board to a broker', async (t) => {
  const broker = await startMosquitto(t);
  const w = await watch(t, broker.url, ['yubin/#']);
  await set('mqtt.url', broker.url);
  await w.waitFor((m) => m.topic.endsWith('/availability') && m.text === 'online', 8000, 'online');
  t.pass('the board announced itself');
  await set('mqtt.url', '');
  await w.waitFor((m) => m.topic.endsWith('/availability') && m.text === 'offline', 8000, 'offline');
});

t.test('leds: board.leds restarts the LED extension', async (t) => {
  t.notOk(logLines.some((l) => l.includes('LED ready')), 'off: no LED driven');
  await set('board.leds', 'simulated');
  await until('the LEDs', () => logLines.some((l) => l.includes('LED ready: steady')));
  t.pass('simulated LEDs show ready');
});

t.test('health: alerts.diskLowMiB and alerts.checkSeconds', async (t) => {
  await set('alerts.diskLowMiB', '100000000');
  await set('alerts.checkSeconds', '1');
  await until('a disk-low alert', () => fw.alerts.active().some((a) => a.kind === 'disk-low'));
  t.pass('checked at the new interval against the new threshold');
  await set('alerts.diskLowMiB', '0');
});

t.test('spam and quarantine: spam.quarantineScore, quarantine.expiry, quarantine.sweepInterval', async (t) => {
  await set('quarantine.expiry', '1s');
  await set('spam.quarantineScore', '0');
  t.match((await send({ to: ['alice@yubin.test'] })).data, /^250 /);
  t.match(await yubin('quarantine', 'list'), /from <someone@outside\.example>  "live"  spam score/, 'held in quarantine');
  await set('spam.quarantineScore', '8');
  await new Promise((r) => setTimeout(r, 1100));
  await set('quarantine.sweepInterval', '10m');
  await until('the sweep', async () => (await yubin('quarantine', 'list')) === 'quarantine is empty\n');
  t.pass('swept at once by the restarted sweeper, expired after 1 s');
});

t.test('antivirus: antivirus.address', async (t) => {
  await set('antivirus.address', '/nonexistent/clamd.ctl');
  t.match((await send({ to: ['alice@yubin.test'] })).data, /^451 4\.7\.1 /, 'a scanner that is down is a temporary failure');
  await set('antivirus.address', '');
  t.match((await send({ to: ['alice@yubin.test'] })).data, /^250 /);
});

const exeAttachment = {
  headers: 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n',
  body: '--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="tool.exe"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b1--',
};

t.test('attachments: attachments.inbound', async (t) => {
  t.match((await send({ to: ['alice@yubin.test'], ...exeAttachment })).data, /^250 /, 'remove: accepted without the file');
  await set('attachments.inbound', 'reject');
  t.match((await send({ to: ['alice@yubin.test'], ...exeAttachment })).data, /^554 5\.7\.1 /);
  await set('attachments.inbound', 'remove');
});

t.test('encrypted: encrypted.action', async (t) => {
  const pgp = { body: '-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA0xyz\r\n-----END PGP MESSAGE-----' };
  t.match((await send({ to: ['alice@yubin.test'], ...pgp })).data, /^250 /);
  await set('encrypted.action', 'reject');
  t.match((await send({ to: ['alice@yubin.test'], ...pgp })).data, /^554 5\.7\.1 Message refused: encrypted content/);
  await set('encrypted.action', 'pass');
});

t.test('dns and senderauth: dns.servers, senderauth.enabled', async (t) => {
  const dns = await startDnsServer(t, {});
  await set('dns.servers', `127.0.0.1:${dns.port}`);
  t.match((await send({ to: ['alice@yubin.test'] })).data, /^250 /);
  t.ok(dns.queries.some((q) => q.name === 'outside.example' && q.type === 'TXT'), 'the sender check asked the new resolver');
  const withChecks = (await mailbox('alice')).at(-1)!;
  t.match(withChecks, /\r\nAuthentication-Results: mx\.yubin\.test;/);
  await set('senderauth.enabled', 'false');
  t.match((await send({ to: ['alice@yubin.test'] })).data, /^250 /);
  await fw.qmgr.whenIdle();
  t.notMatch((await mailbox('alice')).at(-1)!, /Authentication-Results:/, 'no sender checks');
  await set('senderauth.enabled', 'true');
  await set('dns.servers', '');
});

t.test('archive: archive.inbound', async (t) => {
  const search = () => yubin('archive', 'search', '--from', 'archived@outside.example');
  t.match(await search(), /^0 message\(s\)\n$/);
  await set('archive.inbound', 'true');
  t.match((await send({ to: ['alice@yubin.test'], mailFrom: 'archived@outside.example' })).data, /^250 /);
  t.match(await search(), /inbound <archived@outside\.example> -> alice@yubin\.test .*\n1 message\(s\)\n$/);
});

t.test('outbound, dkimsign, queue, hold, bounce: mail out through a smarthost', async (t) => {
  const peer = await startPeer(t, '127.0.0.1', await freePort(), { dataDelayMs: 800, rcpt: (a) => (a.startsWith('nobody@') ? '550 5.1.1 no such user' : null) });
  const out = (o: { to?: string; headers?: string } = {}) => send({ client: '127.0.0.1', mailFrom: 'alice@yubin.test', to: [o.to ?? 'bob@remote.test'], ...(o.headers ? { headers: o.headers } : {}) });

  await set('relay.smarthost', `127.0.0.1:${peer.port}`);
  await yubin('dkim', 'keygen', 'yubin.test');
  await set('dkimsign.enabled', 'false');
  t.match((await out()).data, /^250 /);
  await until('the smarthost', () => peer.received.length === 1);
  t.pass('relay.smarthost: delivered to the new smarthost');
  t.notMatch(peer.received[0]!.data, /DKIM-Signature:/, 'dkimsign.enabled false: unsigned');
  await set('dkimsign.enabled', 'true');
  await out();
  await until('the smarthost', () => peer.received.length === 2);
  t.match(peer.received[1]!.data, /^DKIM-Signature: .*d=yubin\.test/m, 'dkimsign.enabled true: signed');

  await set('queue.concurrency', '1');
  peer.maxOpen = 0;
  for (let i = 0; i < 3; i++) await out();
  await until('three more', () => peer.received.length === 5, 15_000);
  t.equal(peer.maxOpen, 1, 'queue.concurrency 1: one delivery at a time');
  await set('queue.concurrency', '3');
  peer.maxOpen = 0;
  for (let i = 0; i < 3; i++) await out();
  await until('three more', () => peer.received.length === 8, 15_000);
  t.ok(peer.maxOpen > 1, `queue.concurrency 3: deliveries at once (${peer.maxOpen})`);

  const filler = `X-Filler: ${'f'.repeat(3000)}\r\n`;
  await set('bounce.maxReturnedHeaderBytes', '1024');
  const inbox = (await mailbox('alice')).length;
  await out({ to: 'nobody@remote.test', headers: filler });
  await until('the bounce', async () => (await mailbox('alice')).length === inbox + 1);
  const dsn = (await mailbox('alice')).at(-1)!;
  t.match(dsn, /text\/rfc822-headers/);
  t.notMatch(dsn, /f{1100}/, 'bounce.maxReturnedHeaderBytes 1024: the returned header is cut');

  await set('hold.delaySeconds', '3600');
  await out();
  t.match(await yubin('queue', 'list'), /DELAYED 3[56]\d\d s \(mis-send delay; queue cancel \S+ takes it back\)/, 'hold.delaySeconds: the next message waits');
  await set('hold.delaySeconds', '0');
});
