import t from 'tap';
import { existsSync } from 'node:fs';
import { findChip, globalNumber } from '../../board/gpio/chip.ts';
import { levelAt } from '../../board/gpio/patterns.ts';
import { PROFILES } from '../../board/profiles/profiles.ts';
import { createLedService } from '../../board/gpio/leds.ts';
import { createAlertEngine } from '../../src/alerts/engine.ts';
import { makeContext, recordingLogger } from '../alerts/fixtures/context.ts';
import { fakeGpio } from './fixtures/fake-sysfs.ts';

t.test('BCM numbers map to base + offset on the chip named by the profile', async (t) => {
  const cases = [
    { profile: PROFILES.pi4, chips: [{ name: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 }, { name: 'gpiochip570', label: 'raspberrypi-exp-gpio', base: 570, ngpio: 8 }], alert: 534 },
    // Pi 5: the SoC's own chips come first; the header is on RP1 at 571.
    { profile: PROFILES.pi5, chips: [{ name: 'gpiochip512', label: 'gpio-brcmstb@107d508500', base: 512, ngpio: 32 }, { name: 'gpiochip544', label: 'gpio-brcmstb@107d508520', base: 544, ngpio: 27 }, { name: 'gpiochip571', label: 'pinctrl-rp1', base: 571, ngpio: 54 }], alert: 593 },
    // Older kernels number from 0: the same code still works.
    { profile: PROFILES.pi3, chips: [{ name: 'gpiochip0', label: 'pinctrl-bcm2835', base: 0, ngpio: 54 }, { name: 'gpiochip504', label: 'raspberrypi-exp-gpio', base: 504, ngpio: 8 }], alert: 22 },
    { profile: PROFILES.zero2w, chips: [{ name: 'gpiochip512', label: 'pinctrl-bcm2835', base: 512, ngpio: 54 }], alert: 534 },
    { profile: PROFILES.cm4, chips: [{ name: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 }], alert: 534 },
  ];
  for (const c of cases) {
    const sysfs = await fakeGpio(t, c.chips);
    const chip = await findChip(sysfs.gpioDir, c.profile.chipLabels, c.profile.name);
    t.equal(globalNumber(chip, c.profile.leds.alert!), c.alert, `${c.profile.name}: alert LED BCM 22 is GPIO ${c.alert}`);
  }
  t.same(PROFILES.x86.leds, {}, 'x86 has no LEDs');
});

t.test('a missing chip or a pin beyond the chip is refused, naming board.profile and what was found', async (t) => {
  const sysfs = await fakeGpio(t, [{ name: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 }]);
  await t.rejects(findChip(sysfs.gpioDir, PROFILES.pi5.chipLabels, 'pi5'),
    { message: `board.profile: pi5 expects a gpiochip labelled pinctrl-rp1 under ${sysfs.gpioDir}, found gpiochip512=pinctrl-bcm2711` });
  const chip = await findChip(sysfs.gpioDir, PROFILES.pi4.chipLabels, 'pi4');
  t.throws(() => globalNumber(chip, 60), { message: 'board.profile: BCM 60 is not a line of gpiochip512 (pinctrl-bcm2711, 58 lines)' });
  await t.rejects(findChip('/nonexistent/gpio', ['x'], 'pi4'), { message: /^board\.gpioRoot: cannot read \/nonexistent\/gpio \(ENOENT\)/ });
});

t.test('patterns: steady, blink 2 Hz, fast blink 5 Hz, heartbeat double pulse', async (t) => {
  const over = (p: Parameters<typeof levelAt>[0], ms: number) => Array.from({ length: ms / 50 }, (_, i) => levelAt(p, i * 50)).join('');
  t.equal(over('steady', 500), '1111111111');
  t.equal(over('off', 500), '0000000000');
  t.equal(over('blink', 1000), '11111000001111100000');
  t.equal(over('fast-blink', 400), '11001100');
  t.equal(over('heartbeat', 1200), '110001100000000000000000');
});

t.test('the simulated backend shows LED pattern changes in the log; alert latched until ack', async (t) => {
  const log = recordingLogger();
  const ctx = await makeContext(t, { 'board.leds': 'simulated', 'board.profile': 'pi4' }, log);
  const alerts = createAlertEngine(ctx);
  const leds = createLedService(ctx, alerts);
  await alerts.start();
  await leds.start();
  t.teardown(async () => { await leds.stop(); await alerts.stop(); });
  const shown = () => log.lines.filter((l) => l.message.startsWith('LED ')).map((l) => l.message);
  t.same(shown(), ['LED ready: steady', 'LED heartbeat: heartbeat', 'LED mail: off', 'LED alert: off']);
  for (let i = 0; i < 3; i++) ctx.bus.emit('relay.denied', { client: '203.0.113.9', helo: 'x', from: 'a@b.example', rcpt: 'c@d.example', reason: 'relay denied' });
  ctx.bus.emit('relay.denied', { client: '203.0.113.9', helo: 'x', from: 'a@b.example', rcpt: 'c@d.example', reason: 'relay denied' });
  t.same(shown().slice(4), ['LED alert: fast-blink'], 'one change, however many events');
  ctx.bus.emit('virus.found', { client: '192.0.2.5', from: 'a@b.example', signature: 'Eicar-Test-Signature' });
  alerts.ack('1');
  t.same(shown().slice(5), [], 'still blinking: the virus alert is not acknowledged');
  alerts.ack();
  t.same(shown().slice(5), ['LED alert: off']);
  t.match(log.lines.find((l) => l.message === 'LED alert: fast-blink')?.fields, { bcm: 22, simulated: true });
});

t.test('board.leds=gpio without a writable /sys/class/gpio is refused with what to do', { skip: existsSync('/sys/class/gpio/export') && 'this machine has real sysfs GPIO' }, async (t) => {
  const sysfs = await fakeGpio(t, [{ name: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 }]);
  const ctx = await makeContext(t, { 'board.leds': 'gpio', 'board.profile': 'pi4', 'board.gpioRoot': sysfs.gpioDir });
  const leds = createLedService(ctx, createAlertEngine(ctx));
  await t.rejects(leds.start(), { message: /^board\.leds: \/sys\/class\/gpio\/export is not writable .*use board\.leds=simulated$/ });
});

t.test('profile x86 drives no LEDs', async (t) => {
  const log = recordingLogger();
  const ctx = await makeContext(t, { 'board.leds': 'gpio', 'board.profile': 'x86' }, log);
  const leds = createLedService(ctx, createAlertEngine(ctx));
  await leds.start();
  t.teardown(() => leds.stop());
  t.ok(log.lines.some((l) => l.message === 'board.profile x86 has no LEDs'));
});
