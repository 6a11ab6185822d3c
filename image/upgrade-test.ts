// `npm run image:test:upgrade` (`-- --arch arm64` for the Pi image under qemu virt): the firmware
// lifecycle in qemu, as an owner lives it. Image v1 (image/out, as `npm run image:build:<arch>`
// made it) boots; mail is sent and
// fetched; bundles built here from the same tree are offered over HTTP from the LAN: one signed
// with another key, a truncated one and one for the other architecture are refused before anything
// is written; one whose firmware never reaches ready is installed, tried MAX_TRIES times and rolled
// back by the boot loader (GRUB or U-Boot) to v1 by itself (console, `show alerts`, MQTT say so); then v2 is installed from the
// console, the board reboots into slot B, and mail and configuration are there, slot A kept.
// Last line: `N passed, N failed, N skipped`.
import { mkdtemp, rm, mkdir, truncate, copyFile, stat, writeFile, readFile, open } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from './lib/run.ts';
import { targets, outDir, parseArch, option, type Target } from './lib/targets.ts';
import { imagePath, buildRoot, slotImage } from './build.ts';
import { writePartition, partitions, fatOf, makeSquashfs, MiB } from './lib/disk.ts';
import { Vm, chooseAccel } from './lib/qemu.ts';
import { sendOverSmtp, fetchWithApop } from './lib/mail-peers.ts';
import { signingKey, makeKey, makeBundle } from './lib/rauc.ts';
import { compatible, MAX_TRIES, UBOOT_ENV } from './lib/slots.ts';
import { parseGrubenv, parseUbootEnv } from '../firmware/lifecycle/upgrade.ts';
import { step, fail, finish, showConsoleOnFailure, testDataPartition, bootArgs, loginOnConsole, consolePrompt, factoryResetAll, chooseAdminPassword, user, domain, apopSecret } from './boot-test.ts';
import { startMosquitto, watch } from './lib/mosquitto.ts';

const readyLine = /yubin: ready[^\r\n]*[\r\n]/;
const releaseLine = /yubin-image: release=(\S*) slot=(\S+)[^\r\n]*[\r\n]/;
// The release line is printed each time yubin.service starts, so a failing firmware prints it several
// times per boot, also after the health check has given up and before the reboot. A new boot is told
// by the kernel's first line (time stamp 0, replayed when the serial console registers): comparing
// the release line's stamp with the verdict's failed on arm64 under TCG, where the rollback boot's
// release line (~170 s) came later in its boot than the last verdict (~150 s) in the one before.
const bootStart = /\[\s*0\.000000\][^\r\n]*[\r\n]/;
const notHealthy = /\[\s*(\d+\.\d+)\][^\r\n]*?yubin-upgrade: slot B NOT healthy[^\r\n]*[\r\n]/;

interface Bundles {
  v2: string;
  broken: string;
  foreign: string;
  truncated: string;
  otherArch: string;
  v2Release: string;
}

/** Bundles from this tree: v2, one whose firmware exits at once, and the three that must be refused. */
async function makeBundles(target: Target, dir: string): Promise<Bundles> {
  const key = await signingKey();
  const work = `${dir}/v2`;
  const v2Release = `v2-${randomBytes(3).toString('hex')}`;
  const { root, bundleFiles: files } = await buildRoot(target, { release: v2Release, key, work });
  const v2Image = `${work}/root.img`;
  await slotImage(root, v2Image, target);
  const v2 = await makeBundle({ rootImage: v2Image, files, compatible: compatible(target), version: v2Release, key, out: `${dir}/v2.raucb`, work });
  // The same root, but a firmware that dies before its ready line, every time.
  await writeFile(`${root}/usr/lib/yubin/app/yubin.mjs`, "console.error('yubin: this firmware is broken on purpose (upgrade test)'); process.exit(3);\n");
  await writeFile(`${root}/usr/lib/yubin/release`, 'broken\n');
  const brokenImage = `${work}/broken.img`;
  await makeSquashfs(brokenImage, root, target, { fast: true });
  const broken = await makeBundle({ rootImage: brokenImage, files, compatible: compatible(target), version: 'broken', key, out: `${dir}/broken.raucb`, work });
  const stranger = await makeKey(`${dir}/keys`, 'stranger');
  const foreign = await makeBundle({ rootImage: v2Image, files, compatible: compatible(target), version: v2Release, key: stranger, out: `${dir}/foreign.raucb`, work });
  const other = target.arch === 'x64' ? targets.arm64 : targets.x64;
  const otherArch = await makeBundle({ rootImage: v2Image, files, compatible: compatible(other), version: v2Release, key, out: `${dir}/${other.arch}.raucb`, work });
  const truncated = `${dir}/truncated.raucb`;
  await copyFile(v2, truncated);
  await truncate(truncated, Math.floor((await stat(v2)).size / 2));
  await rm(root, { recursive: true, force: true });
  return { v2, broken, foreign, truncated, otherArch, v2Release };
}

/** The bundles over HTTP on 127.0.0.1 (the guest reaches it as 10.0.2.2, qemu's user network). */
async function serve(dir: string): Promise<{ server: Server; url: (file: string) => string }> {
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').slice(1);
    const path = `${dir}/${name}`;
    if (!/^[\w.-]+$/.test(name) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    stat(path).then((s) => {
      res.writeHead(200, { 'content-length': s.size, 'content-type': 'application/octet-stream' });
      createReadStream(path).pipe(res);
    }, () => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { server, url: (file) => `http://10.0.2.2:${port}/${file.split('/').at(-1)}` };
}

/** The boot loader's slot state on the FAT: the first slot it tries, and whether each slot is good. */
interface SlotState {
  order: string;
  good: { A: boolean; B: boolean };
  /** The variables as stored, for the report. */
  text: string;
}

async function slotStateOf(target: Target, disk: string, dir: string): Promise<SlotState> {
  if (target.arch === 'x64') {
    await run('mcopy', ['-o', '-i', await fatOf(disk), '::grub/grubenv', `${dir}/grubenv`]);
    const env = parseGrubenv(await readFile(`${dir}/grubenv`, 'latin1'));
    return { order: env.ORDER ?? '', good: { A: env.A_OK === '1', B: env.B_OK === '1' }, text: `grubenv ORDER="${env.ORDER}" A_OK=${env.A_OK} B_OK=${env.B_OK} B_TRY=${env.B_TRY}` };
  }
  // RAUC's U-Boot variables: a slot is good while it has boots left.
  await run('mcopy', ['-o', '-i', await fatOf(disk), `::${UBOOT_ENV}`, `${dir}/${UBOOT_ENV}`]);
  const env = parseUbootEnv(await readFile(`${dir}/${UBOOT_ENV}`));
  const left = (slot: string) => Number(env[`BOOT_${slot}_LEFT`] ?? 0);
  return { order: env.BOOT_ORDER ?? '', good: { A: left('A') > 0, B: left('B') > 0 }, text: `uboot.env BOOT_ORDER="${env.BOOT_ORDER}" BOOT_A_LEFT=${env.BOOT_A_LEFT} BOOT_B_LEFT=${env.BOOT_B_LEFT}` };
}

/** Whether partition `number` holds only zero bytes (slot B before anything was written to it). */
async function allZero(disk: string, number: number): Promise<boolean> {
  const part = (await partitions(disk)).find((p) => p.number === number)!;
  const handle = await open(disk, 'r');
  try {
    const buf = Buffer.alloc(4 * MiB);
    for (let at = 0; at < part.sizeBytes; at += buf.length) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, part.startBytes + at);
      if (buf.subarray(0, bytesRead).some((b) => b !== 0)) return false;
    }
    return true;
  } finally {
    await handle.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const target = targets[parseArch(option(argv, '--arch') ?? 'x64')];
  const image = imagePath(target);
  if (!existsSync(image)) throw new Error(`${image} not found: run npm run image:build:${target.arch} first`);
  const started = performance.now();
  await mkdir(outDir, { recursive: true });
  const dir = await mkdtemp(`${outDir}/upgrade-test-`);
  const teardown: Array<() => unknown> = [];
  let vm: Vm | undefined;
  // Stopped from outside (CI's timeout): qemu and the broker go too, not left behind.
  const onSignal = () => {
    void (async () => {
      await vm?.stop();
      for (const fn of teardown.reverse()) await Promise.resolve(fn()).catch(() => undefined);
      process.exit(143);
    })();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    let bundles: Bundles | undefined;
    await step('bundles from this tree: v2, a broken firmware, foreign-signed, truncated, other architecture', async () => {
      const t0 = performance.now();
      bundles = await makeBundles(target, dir);
      return `built in ${((performance.now() - t0) / 1000).toFixed(0)} s; v2 ${((await stat(bundles.v2)).size / MiB).toFixed(1)} MiB (${bundles.v2Release})`;
    });
    if (!bundles) return finish();
    const b = bundles;
    const { server, url } = await serve(dir);
    teardown.push(() => server.close());
    const broker = await startMosquitto({ teardown: (fn) => void teardown.push(fn) });
    const mqtt = await watch({ teardown: (fn) => void teardown.push(fn) }, broker.url, ['yubin/#']);

    const disk = `${dir}/disk.raw`;
    await run('cp', ['--sparse=always', image, disk]);
    await truncate(disk, (await stat(disk)).size + 1024 * MiB);
    const dataPart = (await partitions(disk)).at(-1)!;
    const hostname = `up-${randomBytes(3).toString('hex')}.yubin.test`;
    await writePartition(disk, dataPart.number, await testDataPartition(dir, { hostname, 'mqtt.url': `mqtt://10.0.2.2:${broker.port}` }));
    // A healthy boot under TCG reaches ready in ~45 s; a stuck one is given up after 240 s.
    await bootArgs(disk, dir, 'yubin.health=240');
    // arm64: qemu virt starts the image's U-Boot for qemu (boot-test.ts does the same).
    let bios: string | undefined;
    if (target.arch === 'arm64') {
      await run('mcopy', ['-i', await fatOf(disk), '::u-boot-qemu.bin', dir]);
      bios = `${dir}/u-boot-qemu.bin`;
    }
    const choice = await chooseAccel(target, { kernel: `${dir}/vmlinuz` });
    const theVm = new Vm({ target, disk, dir, accel: choice.accel, ...(bios ? { bios } : {}) });
    vm = theVm;
    showConsoleOnFailure(theVm);
    await theVm.attach();
    const bootS = 600_000;

    /** The release line of the next boot: the first after the kernel's first line. */
    const nextBoot = async (): Promise<RegExpExecArray> => {
      const deadline = performance.now() + bootS;
      await theVm.waitFor(bootStart, bootS);
      return theVm.waitFor(releaseLine, Math.max(1, deadline - performance.now()));
    };
    const boots = async (slot: string, release: RegExp | string, reboot?: 'next boot'): Promise<string> => {
      const m = reboot === undefined ? await theVm.waitFor(releaseLine, bootS) : await nextBoot();
      if (m[2] !== slot) throw new Error(`booted slot ${m[2]} (${m[1]}), not ${slot}`);
      if (typeof release === 'string' ? m[1] !== release : !release.test(m[1]!)) throw new Error(`slot ${slot} runs release ${m[1]}, not ${release}`);
      const r = await theVm.waitFor(readyLine, bootS);
      const healthy = await theVm.waitFor(/yubin-upgrade: (slot \S+ healthy|ROLLED BACK)[^\r\n]*[\r\n]/, 300_000);
      return `${m[0].trim()}; ${r[0].trim()}; ${healthy[0].trim()}`;
    };
    const v1 = await step('v1 boots from slot A and is marked good', () => boots('A', /^(?!v2-|broken)/));
    if (v1.status !== 'pass') return finish();

    const subject = `upgrade test ${randomBytes(4).toString('hex')}`;
    await step('mail: SMTP in, POP3 out on v1', async () => {
      const reply = await sendOverSmtp(await theVm.hostPort(25), { from: 'bob@outside.test', to: `${user}@${domain}`, subject, text: 'Kept across upgrades.\r\n' });
      if (!/^250[ -]/.test(reply)) return fail(`server answered ${reply}`);
      return pop3(theVm, subject);
    });

    const upgrade = async (bundle: string): Promise<string> => {
      await loginOnConsole(theVm);
      theVm.type(`upgrade ${url(bundle)}\r`);
      const m = await theVm.waitFor(/upgrade: [^\r\n]*[\r\n]|installed into the other slot[^\r\n]*[\r\n]/, 600_000);
      return m[0].trim();
    };
    for (const [name, file, why] of [['signed with another key', b.foreign, /signature|verif|certificate|CMS/i], ['truncated', b.truncated, /./], ['for the other architecture', b.otherArch, /compatible/i]] as const) {
      await step(`a bundle ${name} is refused before anything is written`, async () => {
        const said = await upgrade(file);
        if (!said.startsWith('upgrade: refused')) return fail(`console said: ${said}`);
        if (!why.test(said)) return fail(`refused, but not for the expected reason: ${said}`);
        await theVm.waitFor(consolePrompt, 20_000);
        return said;
      });
    }
    await step('after the refusals slot B is untouched and the boot loader still boots A', async () => {
      const state = await slotStateOf(target, disk, dir);
      if (state.order !== 'A B' || state.good.B) return fail(`boot state changed: ${state.text}`);
      return (await allZero(disk, 3)) ? `slot B all zeros, ${state.text}` : fail('slot B was written');
    });
    await step('refusals are reported on MQTT', async () => {
      const m = await mqtt.waitFor((s) => /\/alert$/.test(s.topic) && /"kind":"lifecycle"/.test(s.text), 60_000, 'a lifecycle alert');
      return `${m.topic}: ${m.text.slice(0, 160)}`;
    });

    const rollbackStart = performance.now();
    await step(`a bundle whose firmware never reaches ready is installed, then rolled back to v1 by the boot loader after ${MAX_TRIES} tries`, async () => {
      const said = await upgrade(b.broken);
      if (!said.startsWith('installed')) return fail(`console said: ${said}`);
      // The install itself reboots: its first boot is try 1.
      for (let i = 1; i <= MAX_TRIES; i++) {
        const m = await nextBoot();
        if (m[2] !== 'B' || m[1] !== 'broken') return fail(`try ${i}: booted slot ${m[2]} release ${m[1]}`);
        await theVm.waitFor(notHealthy, bootS);
      }
      const back = await boots('A', v1.detail.match(/release=(\S+)/)?.[1] ?? /./, 'next boot');
      if (!back.includes('ROLLED BACK')) return fail(`back on A but no rollback report: ${back}`);
      return `${((performance.now() - rollbackStart) / 1000).toFixed(0)} s from the install command: ${back}`;
    });
    await step('the rollback is an alert on the console and on MQTT', async () => {
      await loginOnConsole(theVm);
      theVm.type('show alerts\r');
      const shown = await theVm.waitFor(/lifecycle upgrade[^\r\n]*rolled back[^\r\n]*[\r\n]/, 30_000);
      await mqtt.waitFor((s) => /\/alert$/.test(s.topic) && /rolled back/.test(s.text), 60_000, 'the rollback alert');
      return shown[0].trim();
    });
    await step('mail still there on v1 after the rollback', () => pop3(theVm, subject));

    const upgradeStart = performance.now();
    await step('v2 installed from the console: the board reboots into slot B, marked good', async () => {
      const said = await upgrade(b.v2);
      if (!said.startsWith('installed')) return fail(`console said: ${said}`);
      const booted = await boots('B', b.v2Release);
      return `${((performance.now() - upgradeStart) / 1000).toFixed(0)} s from the install command to healthy: ${booted}`;
    });
    await step('v2 has the mail and the configuration of v1', async () => {
      const mail = await pop3(theVm, subject);
      await loginOnConsole(theVm);
      theVm.type('config get hostname\r');
      const m = await theVm.waitFor(/config get hostname\s*\r?\n([^\r\n]*)[\r\n]/, 30_000);
      if (m[1]!.trim() !== hostname) return fail(`hostname is ${m[1]}, not ${hostname}`);
      return `${mail}; hostname ${hostname}`;
    });
    await step('slot switched, old slot kept', async () => {
      const state = await slotStateOf(target, disk, dir);
      if (!state.order.startsWith('B') || !state.good.B || !state.good.A) return fail(state.text);
      return state.text;
    });
    await step('factory-reset level 2 on the console: the data partition is re-made and first-boot setup runs again, offering a restore', async () => {
      const remade = await factoryResetAll(theVm, hostname, bootS);
      await theVm.waitFor(/yubin-image: seeded \/data\/yubin\/config\.json with the board defaults/, bootS);
      await theVm.waitFor(readyLine, bootS);
      theVm.type('\r');
      await theVm.waitFor(/No admin password is set yet: first-boot setup\./, 60_000);
      await chooseAdminPassword(theVm, `fresh-${randomBytes(6).toString('hex')}`);
      const offer = await theVm.waitFor(/Set up anew, or restore a backup\? \(new\/restore\) \[new\]: /, 20_000);
      return `${remade}; config.json seeded anew; first-boot setup asks for an admin password, then: ${offer[0].trim()}`;
    });
    console.log(`upgrade-test: whole run ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return finish();
  } finally {
    await vm?.stop();
    for (const fn of teardown.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    if (!argv.includes('--keep')) await rm(dir, { recursive: true, force: true });
  }
}

async function pop3(vm: Vm, subject: string): Promise<string> {
  const port = await vm.hostPort(110);
  for (let i = 0; i < 20; i++) {
    const got = await fetchWithApop(port, user, apopSecret);
    if (got.first?.includes(`Subject: ${subject}`)) return `${got.count} message(s); first has "Subject: ${subject}"`;
    await sleep(1000);
  }
  throw new Error(`no message with Subject: ${subject} after 20 s`);
}

if (import.meta.main) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (err) {
    console.error(`upgrade-test: ${(err as Error).message}`);
    console.log('0 passed, 1 failed, 0 skipped');
    process.exitCode = 1;
  }
}
