// The factory-reset button held at power-on: counted with a clock of the test's own for every
// level (and a stuck button), and once for real: `yubin start` on a fake sysfs tree in a private
// mount namespace, the button line pressed by the "hardware", the LEDs counting, the settings
// reset carried out on release, the mail kept.
import t from 'tap';
import { readFile, writeFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { countPress, HOLD_SETTINGS_MS, HOLD_ALL_MS, HOLD_STUCK_MS, type Stage } from '../../board/gpio/button.ts';
import { fakeGpio, transitions } from './fixtures/fake-sysfs.ts';
import { tempDir, seed, BASE_SETTINGS, startChild } from '../support/firmware.ts';

/** A button held for `holdMs` on a clock that moves only when the count sleeps. */
function heldFor(holdMs: number) {
  let now = 0;
  const stages: Stage[] = [];
  return {
    stages,
    run: () => countPress({ pressed: () => now < holdMs, close() {} }, {
      now: () => now,
      sleep: async (ms) => { now += ms; },
      onStage: (s) => stages.push(s),
    }),
  };
}

t.test('the level is what was reached when the button is let go', async (t) => {
  const brush = heldFor(2_000);
  t.match(await brush.run(), { level: null, stuck: false }, 'released before 5 s: nothing');
  t.same(brush.stages, ['pressed']);
  const settings = heldFor(HOLD_SETTINGS_MS + 1_000);
  t.match(await settings.run(), { level: 'settings' });
  t.same(settings.stages, ['pressed', 'settings'], 'the LEDs change when 5 s is reached');
  const all = heldFor(HOLD_ALL_MS + 1_000);
  t.match(await all.run(), { level: 'all' });
  t.same(all.stages, ['pressed', 'settings', 'all']);
  const stuck = heldFor(Number.POSITIVE_INFINITY);
  t.match(await stuck.run(), { level: null, stuck: true }, 'a button stuck down erases nothing');
  t.ok((await heldFor(Number.POSITIVE_INFINITY).run()).heldMs >= HOLD_STUCK_MS);
  t.match(await heldFor(0).run(), { level: null, heldMs: 0 }, 'not pressed at power-on: no wait at all');
});

const BASE = 512;
const BUTTON = BASE + 26;
const ALERT_LED = BASE + 22;

t.test('held 5 s at power-on on a Pi 4: the alert LED counts, the settings are reset, the mail stays', async (t) => {
  const sysfs = await fakeGpio(t, [{ name: 'gpiochip512', label: 'pinctrl-bcm2711', base: BASE, ngpio: 58 }], { [BUTTON]: '1' });
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'board.profile': 'pi4', 'board.leds': 'gpio' }, [{ name: 'alice', password: 'alice-password-1' }]);
  await mkdir(join(dataDir, 'mail/alice/new'), { recursive: true });
  await writeFile(join(dataDir, 'mail/alice/new/1.M1P1.mx'), 'Subject: kept\r\n\r\nkept\r\n');

  const wrapper = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /sys/class && exec "$@"', sysfs.classDir];
  const starting = startChild(dataDir, [], 30_000, { wrapper });
  const until = Date.now() + 15_000;
  while (!sysfs.exported.has(BUTTON) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.ok(sysfs.exported.has(BUTTON), 'BCM 26 exported as 538 (base 512 + 26)');
  const counting = await sysfs.sample(ALERT_LED, 20, 1_500);
  t.ok(transitions(counting) >= 3, `the alert LED blinks while the button is held (${counting.join('')})`);
  await new Promise((r) => setTimeout(r, HOLD_SETTINGS_MS - 1_500 + 700));
  await sysfs.drive(BUTTON, '0');
  const fw = await starting;
  t.teardown(async () => { fw.child.kill('SIGKILL'); await fw.exited; });
  const out = fw.stdout();
  t.match(out, /yubin: reset button held: keep holding 5 s/);
  t.match(out, /yubin: reset button: settings reset armed/);
  t.match(out, /yubin: reset button: settings reset after [5-9]\.\d s\n/);
  t.match(out, /yubin: factory reset \(settings\) done: starting as new/);
  t.notOk(sysfs.exported.has(BUTTON), 'the button line is given back (unexported) once read');
  const config = await readFile(join(dataDir, 'config.json'), 'utf8').catch(() => null);
  t.same(config === null ? [] : Object.keys(JSON.parse(config).users), [], 'no users: the settings are gone');
  t.same(await readdir(join(dataDir, 'mail/alice/new')), ['1.M1P1.mx'], 'the mail is kept');
});

t.test('not held: the board starts at once, nothing is reset', async (t) => {
  const sysfs = await fakeGpio(t, [{ name: 'gpiochip512', label: 'pinctrl-bcm2711', base: BASE, ngpio: 58 }]);
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'board.profile': 'pi4', 'board.leds': 'gpio' }, [{ name: 'alice', password: 'alice-password-1' }]);
  const wrapper = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /sys/class && exec "$@"', sysfs.classDir];
  const fw = await startChild(dataDir, [], 30_000, { wrapper });
  t.teardown(async () => { fw.child.kill('SIGKILL'); await fw.exited; });
  t.notMatch(fw.stdout(), /reset/);
  t.same(Object.keys(JSON.parse(await readFile(join(dataDir, 'config.json'), 'utf8')).users), ['alice']);
});
