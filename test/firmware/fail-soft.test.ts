// Mail is the core; everything else may fail alone. An extension that cannot start (an unreadable
// mqtt.ca, board.leds gpio on a kernel without sysfs GPIO) or whose listener throws is reported
// down (service.down: alert, `show status`) and retried, and SMTP still accepts and delivers mail.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, startChild, repo, BASE_SETTINGS } from '../support/firmware.ts';
import { run, swaks, swaksReply } from '../support/clients.ts';
import { openContext, createWatchers, createMailStations, createExtensions, startParts, type Firmware } from '../../firmware/supervisor.ts';
import { runCommand } from '../../firmware/commands/index.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';
import type { EventMap } from '../../src/events/bus.ts';

const USERS = [{ name: 'alice', password: 'alice-password-1' }];

async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const inbox = (dataDir: string, user: string) => readdir(join(maildirOf(dataDir, user), 'new')).then((f) => f.length, () => 0);

async function sendFromOutside(port: number, subject: string): Promise<string | null> {
  const r = await swaks(['--server', '127.0.0.1', '--port', String(port), '--local-interface', '127.0.0.2', '--from', 'someone@outside.example', '--to', 'alice@yubin.test', '--header', `Subject: ${subject}`]);
  return swaksReply(r.stdout, '.');
}

/** One console command against the running firmware, as the console runs it. */
async function consoleCommand(fw: Firmware, line: string): Promise<string> {
  let out = '';
  await runCommand(line.split(' '), { ctx: fw.ctx, surface: 'console', hooks: fw.hooks, out: { write: (s) => void (out += s) }, err: { write: (s) => void (out += s) }, prompt: async () => null });
  return out;
}

t.test('the board boots with an unreadable mqtt.ca and board.leds gpio without GPIO: mail flows, show status names both', async (t) => {
  const dataDir = await tempDir(t);
  const noGpio = await tempDir(t, 'yubin-no-gpio-'); // a kernel without sysfs GPIO: no gpiochip anywhere
  await seed(dataDir, {
    ...BASE_SETTINGS,
    'mqtt.url': 'mqtts://127.0.0.1:8883',
    'mqtt.ca': join(dataDir, 'missing-ca.pem'),
    'board.leds': 'gpio',
    'board.gpioRoot': noGpio,
  }, USERS);
  const fw = await startChild(dataDir, [], 20_000, { stdin: true });
  t.teardown(() => void fw.child.kill('SIGKILL'));
  t.pass('the ready line came: SMTP and POP3 listen');

  t.match(await sendFromOutside(fw.ports.smtp!, 'while two extensions are down'), /^250 2\.0\.0 Ok: queued/, 'SMTP accepts');
  await waitFor('delivery to alice', async () => (await inbox(dataDir, 'alice')) === 1);
  t.pass('and delivers');

  // The stdio console of `yubin start`: first boot asks for the admin password.
  const typed = (text: string) => fw.child.stdin!.write(text);
  await waitFor('the password prompt', () => fw.stdout().includes('New admin password'));
  typed('console-secret-1\n');
  await waitFor('the repeat prompt', () => /Repeat/.test(fw.stdout()));
  typed('console-secret-1\n');
  await waitFor('the restore question', () => fw.stdout().includes('Set up anew, or restore a backup? (new/restore) [new]: '));
  typed('\n');
  // The rest of the first-boot setup: Enter keeps every value and writes it.
  await waitFor('the setup questions', () => fw.stdout().includes('[2/7]'));
  typed('\n'.repeat(6));
  await waitFor('the shell', () => fw.stdout().includes("'help' lists commands"));
  typed('show status\n');
  const status = await waitFor('show status', () => /extensions: .*\n(?:  .*\n)+/.exec(fw.stdout().replaceAll('\r\n', '\n'))?.[0]);
  t.match(status, /leds DOWN/, 'show status names the LED service as down');
  t.match(status, /mqtt DOWN/, 'and MQTT');
  t.match(status, /firewall up/, 'the others run');
  t.match(status, new RegExp(`  leds down since .*: board\\.profile: pi4 expects a gpiochip labelled pinctrl-bcm2711 under ${noGpio}, found none`), 'with the reason for the LEDs');
  t.match(status, new RegExp(`  mqtt down since .*mqtt\\.ca: cannot read ${join(dataDir, 'missing-ca.pem').replaceAll('.', '\\.')} \\(ENOENT\\)`), 'and for MQTT');
  t.match(status, /next try in \d+ s/, 'each is retried');
  t.match(fw.stdout(), /mail: 1 received, 1 delivered/, 'the mail counters ran all along');
  typed('show alerts\n');
  const alerts = await waitFor('the alerts', () => {
    const screen = fw.stdout().replaceAll('\r\n', '\n');
    return /service-down leds/.test(screen) && /service-down mqtt/.test(screen) && screen;
  });
  t.match(alerts, /critical service-down leds \S+ \[active\] service leds is down: board\.profile/);
  t.match(alerts, /critical service-down mqtt \S+ \[active\] service mqtt is down: mqtt\.ca: cannot read/);
  t.pass('each down service is an alert (the LED and MQTT show alerts)');
});

t.test('a listener that throws: mail is accepted and delivered, its extension is reported down and retried', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS }, USERS);
  // The firmware composed from the supervisor's own builders, with one extension more.
  const ctx = await openContext({ dataDir, log: stderrLogger('error') });
  const mail = await createMailStations(ctx, { ephemeralPorts: true });
  const watchers = createWatchers(ctx);
  const addons = createExtensions(ctx, watchers, mail, { backoff: { firstMs: 500, maxMs: 500 } });
  let starts = 0;
  addons.extensions.add('thrower', (c) => {
    let off: (() => void) | undefined;
    return {
      name: 'thrower',
      async start() {
        starts += 1;
        off = c.bus.on('message.received', () => {
          throw new Error('cannot count this one');
        });
      },
      async stop() {
        off?.();
      },
    };
  });
  const fw = await startParts({ ctx, watchers, mail, addons });
  t.teardown(() => fw.stop());
  const down: EventMap['service.down'][] = [];
  const up: EventMap['service.up'][] = [];
  ctx.bus.on('service.down', (e) => down.push(e));
  ctx.bus.on('service.up', (e) => up.push(e));

  t.match(await sendFromOutside(fw.smtp.ports().mta!, 'one'), /^250 2\.0\.0 Ok: queued/, 'the throw never reaches the SMTP session');
  await fw.qmgr.whenIdle();
  t.equal(await inbox(dataDir, 'alice'), 1, 'delivered');
  t.same(down, [{ service: 'thrower', reason: 'its message.received listener failed: cannot count this one' }]);
  const status = await consoleCommand(fw, 'show status');
  t.match(status, /mail: 1 received, 1 delivered/, 'the listeners after it (metrics) still counted the message');
  t.match(status, /extensions: leds up, mqtt up, firewall up, health up, dns-watch up, dmarc-reports up, quarantine-expiry up, web up, acme up, tlsrpt up, upgrade-status up, backup-schedule up, control up, thrower DOWN/);
  t.match(status, /  thrower down since .*: its message\.received listener failed: cannot count this one \(1 failed try; next try in \d+ s\)/);
  t.match(await consoleCommand(fw, 'show alerts'), /critical service-down thrower ×1 \[active\] service thrower is down/);

  await waitFor('the retry', () => up.length === 1);
  t.equal(starts, 2, 'started again after the backoff');
  t.match(await consoleCommand(fw, 'show alerts'), /service-down thrower ×1 \[resolved\]/, 'coming back resolves its alert');
  t.match(await sendFromOutside(fw.smtp.ports().mta!, 'two'), /^250 2\.0\.0 Ok: queued/);
  await fw.qmgr.whenIdle();
  t.equal(await inbox(dataDir, 'alice'), 2);
  t.equal(down.length, 2, 'and down again at its next throw');
});

t.test('a down extension is tried again at once when a setting changes (from the CLI)', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'mqtt.url': 'mqtts://127.0.0.1:8883', 'mqtt.ca': join(dataDir, 'missing-ca.pem') }, USERS);
  const ctx = await openContext({ dataDir, log: stderrLogger('error') });
  const mail = await createMailStations(ctx, { ephemeralPorts: true });
  const watchers = createWatchers(ctx);
  // A backoff far longer than the test: only the change of settings can bring MQTT back.
  const addons = createExtensions(ctx, watchers, mail, { backoff: { firstMs: 600_000, maxMs: 600_000 } });
  const fw = await startParts({ ctx, watchers, mail, addons });
  t.teardown(() => fw.stop());
  t.match(await consoleCommand(fw, 'show status'), /mqtt DOWN/);
  const cli = await run(process.execPath, [join(repo, 'firmware/yubin.ts'), '--data', dataDir, 'config', 'set', 'mqtt.url', '']);
  t.equal(cli.code, 0, cli.stderr);
  await waitFor('MQTT up', () => fw.extensions.status().find((e) => e.name === 'mqtt')?.state === 'up');
  t.match(await consoleCommand(fw, 'show status'), /mqtt: off \(mqtt\.url is empty\)\nextensions: .*mqtt up/);
});
