// The host side of upgrades: GRUB's config is valid GRUB script (grub-script-check), the first
// grubenv reads back as GRUB writes it, a boot that is not GRUB's first choice becomes a lifecycle
// alert, and `upgrade` off an A/B board says it is not available. The whole path runs in qemu:
// image/upgrade-test.ts.
import t from 'tap';
import { writeFile, readFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { grubCfg, makeGrubenv, raucSystemConf, ubootScript, makeUbootEnv, fwEnvConfig, MAX_TRIES, UBOOT_ENV_SIZE } from '../../image/lib/slots.ts';
import { selectModules } from '../../image/lib/modules.ts';
import { targets } from '../../image/lib/targets.ts';
import { parseGrubenv, parseUbootEnv, rollbackText, upgradeStatusService, bootState } from '../../firmware/lifecycle/upgrade.ts';
import { createAlertEngine } from '../../src/alerts/engine.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { createContext } from '../../firmware/context.ts';
import { runCommand } from '../../firmware/commands/index.ts';
import { tempDir } from '../support/firmware.ts';

t.test('grub.cfg is valid GRUB script and boots each slot from its own partition with rauc.slot', async (t) => {
  const dir = await tempDir(t);
  const cfg = grubCfg(targets.x64);
  await writeFile(join(dir, 'grub.cfg'), cfg);
  t.doesNotThrow(() => execFileSync('grub-script-check', [join(dir, 'grub.cfg')], { stdio: 'pipe' }), 'grub-script-check accepts it');
  t.match(cfg, /linux \(hd0,msdos2\)\/boot\/vmlinuz root=PARTUUID=59554249-02 .*rauc\.slot=A/);
  t.match(cfg, /linux \(hd0,msdos3\)\/boot\/vmlinuz root=PARTUUID=59554249-03 .*rauc\.slot=B/);
  t.match(cfg, /save_env A_TRY B_TRY/, 'each boot counts its try');
  t.match(raucSystemConf(targets.x64), /compatible=yubin-x64[\s\S]*bootloader=grub[\s\S]*bootname=A[\s\S]*bootname=B/);
});

t.test('the first grubenv: slot A good, B empty, as grub-editenv writes it', async (t) => {
  const dir = await tempDir(t);
  await makeGrubenv(join(dir, 'grubenv'));
  const text = await readFile(join(dir, 'grubenv'), 'latin1');
  t.equal(text.length, 1024, 'a 1 KiB block GRUB can rewrite in place');
  t.same(parseGrubenv(text), { ORDER: 'A B', A_OK: '1', A_TRY: '0', B_OK: '0', B_TRY: '0', MAX_TRIES: String(MAX_TRIES) });
});

t.test('boot.scr (arm64) boots each slot from its own partition with rauc.slot and counts the try in uboot.env', async (t) => {
  const script = ubootScript(targets.arm64);
  t.match(script, /test "\$\{SLOT\}" = A && test \$\{BOOT_A_LEFT\} -gt 0[\s\S]*setenv rootpart 59554249-02/);
  t.match(script, /test "\$\{SLOT\}" = B && test \$\{BOOT_B_LEFT\} -gt 0[\s\S]*setenv rootpart 59554249-03/);
  t.match(script, /root=PARTUUID=\$\{rootpart\} rootfstype=squashfs ro rootwait rauc\.slot=\$\{chosen\}/);
  t.match(script, /env export -c -s 0x4000 \S+ BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT\nfatwrite [^\n]* uboot\.env 0x4000\n[\s\S]*booti/, 'the try is written before the kernel is started');
  t.match(raucSystemConf(targets.arm64), /compatible=yubin-arm64[\s\S]*bootloader=uboot[\s\S]*post-install=\/usr\/lib\/yubin\/rauc-post-install[\s\S]*bootname=A[\s\S]*bootname=B/);
  t.match(fwEnvConfig(), /^\/boot\/firmware\/uboot\.env 0x0 0x4000$/m, 'fw_setenv writes the file boot.scr reads');
});

t.test('the first uboot.env: slot A with all its tries, B none, in U-Boot\'s format (CRC-32 first)', async (t) => {
  const dir = await tempDir(t);
  await makeUbootEnv(join(dir, 'uboot.env'));
  const bytes = await readFile(join(dir, 'uboot.env'));
  t.equal(bytes.length, UBOOT_ENV_SIZE);
  const { crc32 } = await import('node:zlib');
  t.equal(bytes.readUInt32LE(0), crc32(bytes.subarray(4)), 'the CRC env import -c and fw_printenv check');
  t.same(parseUbootEnv(bytes), { BOOT_ORDER: 'A B', BOOT_A_LEFT: String(MAX_TRIES), BOOT_B_LEFT: '0' });
  await writeFile(join(dir, 'cmdline'), 'root=PARTUUID=59554249-02 ro rauc.slot=A\n');
  t.equal(bootState(join(dir, 'cmdline'), join(dir, 'none'), join(dir, 'uboot.env')).primary, 'A', 'U-Boot\'s first choice is read when there is no grubenv');
});

t.test('a boot that is not GRUB\'s first choice is a rollback, raised as a lifecycle alert', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'cmdline'), 'root=PARTUUID=59554249-02 ro rauc.slot=A quiet\n');
  execFileSync('grub-editenv', [join(dir, 'grubenv'), 'create']);
  execFileSync('grub-editenv', [join(dir, 'grubenv'), 'set', 'ORDER=B A', 'A_OK=1', 'A_TRY=0', 'B_OK=1', 'B_TRY=3']);
  const state = bootState(join(dir, 'cmdline'), join(dir, 'grubenv'));
  t.equal(rollbackText(state), 'upgrade rolled back: slot B did not become healthy in 3 tries; running slot A again');
  t.equal(rollbackText({ ...state, booted: 'B' }), null, 'running the chosen slot: nothing to say');
  t.equal(rollbackText(bootState(join(dir, 'none'), join(dir, 'none'))), null, 'not an A/B board');

  const store = await ConfigStore.open(dir);
  t.teardown(() => store.close());
  const ctx = createContext(dir, store, stderrLogger('error'));
  const alerts = createAlertEngine({ ...ctx, bus: ctx.bus.for('alerts') });
  await alerts.start();
  t.teardown(() => alerts.stop());
  const service = upgradeStatusService({ ...ctx, bus: ctx.bus.for('upgrade-status') }, () => state);
  await service.start();
  t.match(alerts.recent(), [{ kind: 'lifecycle', severity: 'critical', source: 'upgrade', text: /rolled back: slot B/ }]);
});

t.test('upgrade off an A/B board says so and changes nothing', async (t) => {
  const dir = await tempDir(t);
  const store = await ConfigStore.open(dir);
  t.teardown(() => store.close());
  let err = '';
  const code = await runCommand(['upgrade', '/tmp/x.raucb'], {
    ctx: createContext(dir, store, stderrLogger('error')), surface: 'cli', hooks: {},
    out: { write: () => undefined }, err: { write: (s) => void (err += s) }, prompt: async () => null,
  });
  t.equal(code, 1);
  t.match(err, /^upgrade: not available \(this system has no A\/B root slots/);
});

t.test('kept kernel modules bring what they depend on; a module named but missing fails the build', async (t) => {
  const dep = [
    'kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko: kernel/drivers/ptp/ptp.ko kernel/drivers/pps/pps_core.ko',
    'kernel/drivers/ptp/ptp.ko: kernel/drivers/pps/pps_core.ko',
    'kernel/drivers/pps/pps_core.ko:',
    'kernel/sound/core/snd.ko:',
    'kernel/drivers/block/loop.ko:',
  ].join('\n');
  const kept = selectModules(dep, { dirs: ['drivers/net/ethernet/intel'], names: ['loop'] });
  t.same([...kept].sort(), ['kernel/drivers/block/loop.ko', 'kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko', 'kernel/drivers/pps/pps_core.ko', 'kernel/drivers/ptp/ptp.ko']);
  t.throws(() => selectModules(dep, { dirs: [], names: ['squashfs'] }), /not in this kernel: squashfs/);
});

t.test('arm64 post-install handler: the bundle\'s kernel and initrd replace the written slot\'s pair on the FAT', async (t) => {
  // RAUC gives the handler the bundle's mount point and the target slots; /boot/firmware is a
  // tmpfs in a private mount namespace here, copied out for the checks.
  const dir = await tempDir(t);
  const bundle = join(dir, 'bundle');
  const out = join(dir, 'fat');
  await mkdir(bundle);
  await mkdir(out);
  await writeFile(join(bundle, 'kernel'), 'kernel of v2\n');
  await writeFile(join(bundle, 'initrd'), 'initrd of v2\n');
  const handler = new URL('../../image/files/arm64/usr/lib/yubin/rauc-post-install', import.meta.url).pathname;
  const script = 'mount -t tmpfs tmpfs /boot && mkdir /boot/firmware && echo old > /boot/firmware/kernel-B && echo A > /boot/firmware/kernel-A && "$0" && cp -a /boot/firmware/. "$1"/';
  const stdout = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, handler, out], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin', RAUC_BUNDLE_MOUNT_POINT: bundle, RAUC_TARGET_SLOTS: '1 2',
      RAUC_SLOT_CLASS_1: 'bootloader', RAUC_SLOT_DEVICE_1: '/dev/null', RAUC_SLOT_BOOTNAME_1: '',
      RAUC_SLOT_CLASS_2: 'rootfs', RAUC_SLOT_DEVICE_2: '/dev/null', RAUC_SLOT_BOOTNAME_2: 'B',
    },
    encoding: 'utf8',
  });
  t.match(stdout, /slot B's kernel and initrd are on the boot partition/);
  t.same((await readdir(out)).sort(), ['initrd-B', 'kernel-A', 'kernel-B'], 'no temporary file left, slot A\'s untouched');
  t.equal(await readFile(join(out, 'kernel-B'), 'utf8'), 'kernel of v2\n');
  t.equal(await readFile(join(out, 'initrd-B'), 'utf8'), 'initrd of v2\n');
  t.equal(await readFile(join(out, 'kernel-A'), 'utf8'), 'A\n');
});
