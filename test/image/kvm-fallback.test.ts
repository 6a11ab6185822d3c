// The boot test's choice of accelerator (image/lib/qemu.ts): KVM only when the image's kernel boots
// under it in a short probe, TCG otherwise, and a boot that KVM aborts is done again under TCG. The
// nested-virtualisation failures cannot be made on demand (qemu -accel kvm aborting with "failed to
// set MSR 0x10a"; on the build machine, KVM crawling through the kernel's decompressor), so a
// stand-in qemu plays them: it fails under -accel kvm the way qemu does there and otherwise serves
// the serial console socket as qemu does, printing the firmware's ready line on it.
import t, { type Test } from 'tap';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseAccel, bootWithFallback, probeArgs, Vm, type Accel } from '../../image/lib/qemu.ts';
import { targets } from '../../image/lib/targets.ts';

/**
 * works: the probe's kernel reaches its root-mount panic, a boot serves a console. nested: every
 * -accel kvm run aborts as qemu does under nested virtualisation. crawls: under KVM the probe's
 * kernel prints its first line and then nothing (the build machine). bad-disk: a boot under KVM
 * fails, but not because of KVM.
 */
type Behaviour = 'works' | 'nested' | 'crawls' | 'bad-disk';

/** A qemu for `behaviour` that logs each run ("probe kvm", "boot tcg,thread=multi") to calls.log. */
async function standIn(dir: string, behaviour: Behaviour): Promise<string> {
  const script = join(dir, 'qemu.cjs');
  await writeFile(script, `const { appendFileSync } = require('node:fs');
const { createServer } = require('node:net');
const args = process.argv.slice(2);
const accel = args[args.indexOf('-accel') + 1];
const probe = !args.includes('-drive');
appendFileSync(${JSON.stringify(join(dir, 'calls.log'))}, (probe ? 'probe ' : 'boot ') + accel + '\\n');
const behaviour = ${JSON.stringify(behaviour)};
const idle = () => setInterval(() => {}, 1000);
if (accel === 'kvm' && behaviour === 'nested') {
  process.stderr.write('qemu-system-x86_64: error: failed to set MSR 0x10a to 0x2000c04\\n');
  process.stderr.write("qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3063: kvm_buf_set_msrs: Assertion \`ret == cpu->kvm_msr_buf->nmsrs' failed.\\n");
  process.kill(process.pid, 'SIGABRT');
} else if (probe && behaviour === 'crawls') {
  process.stdout.write('Probing EDD (edd=off to disable)... ok\\r\\n');
  idle();
} else if (probe) {
  process.stdout.write('[    1.55] VFS: Cannot open root device "" or unknown-block(0,0): error -6\\r\\n');
  process.stdout.write('[    1.55] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\\r\\n');
  idle();
} else if (accel === 'kvm' && behaviour === 'bad-disk') {
  process.stderr.write('qemu-system-x86_64: -drive file=disk.raw: Could not open disk.raw: No such file or directory\\n');
  process.exit(1);
} else {
  const chardev = args[args.indexOf('-chardev') + 1];
  createServer((socket) => socket.write('yubin: ready smtp=25 pop3=110\\r\\n')).listen(/path=([^,]+)/.exec(chardev)[1]);
  process.on('SIGTERM', () => process.exit(0));
}
`);
  // Without tap's NODE_OPTIONS: its process hooks catch SIGABRT, and the abort must be qemu's.
  const path = join(dir, 'qemu-system-x86_64');
  await writeFile(path, `#!/bin/sh\nexec env -u NODE_OPTIONS ${process.execPath} ${script} "$@"\n`);
  await chmod(path, 0o755);
  return path;
}

async function setup(t: Test, behaviour: Behaviour) {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-kvm-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kvmDevice = join(dir, 'kvm');
  await writeFile(kvmDevice, '');
  const qemu = await standIn(dir, behaviour);
  const calls = async () => (await readFile(join(dir, 'calls.log'), 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  return { dir, kernel: join(dir, 'vmlinuz'), kvmDevice, qemu, calls };
}

const target = targets.x64;
const x64 = { hostArch: 'x64' };

t.test('KVM is chosen when the kernel boots under it to its root-mount panic', async (t) => {
  const { kernel, kvmDevice, qemu, calls } = await setup(t, 'works');
  const choice = await chooseAccel(target, { kernel, qemu, kvmDevice, ...x64 });
  t.equal(choice.accel, 'kvm');
  t.match(choice.why, /^the kernel booted under KVM to its root-mount panic in \d+\.\d s$/);
  t.same(await calls(), ['probe kvm']);
});

t.test('a /dev/kvm that qemu cannot use (nested virtualisation: MSR abort) means TCG, and the output says why', async (t) => {
  const { kernel, kvmDevice, qemu } = await setup(t, 'nested');
  const choice = await chooseAccel(target, { kernel, qemu, kvmDevice, ...x64 });
  t.equal(choice.accel, 'tcg');
  t.match(choice.why, /^KVM unusable, falling back to TCG: qemu -accel kvm was killed by SIGABRT: .*failed to set MSR 0x10a/);
});

t.test('a KVM too slow to get a kernel through early boot in time means TCG, within the probe\'s bound', async (t) => {
  const { kernel, kvmDevice, qemu } = await setup(t, 'crawls');
  const start = performance.now();
  const choice = await chooseAccel(target, { kernel, qemu, kvmDevice, timeoutMs: 1000, ...x64 });
  t.same(choice, { accel: 'tcg', why: 'KVM unusable, falling back to TCG: the kernel did not get through early boot under KVM within 1 s (last console line: Probing EDD (edd=off to disable)... ok)' });
  t.ok(performance.now() - start < 6000, 'bounded by the timeout');
});

t.test('without /dev/kvm, or for an arm64 guest, TCG without running qemu', async (t) => {
  const { dir, kernel, qemu, calls } = await setup(t, 'works');
  t.same(await chooseAccel(target, { kernel, qemu, kvmDevice: join(dir, 'absent'), ...x64 }), { accel: 'tcg', why: `${join(dir, 'absent')} is missing or not readable and writable` });
  t.equal((await chooseAccel(targets.arm64, { kernel, qemu, ...x64 })).accel, 'tcg');
  t.equal((await chooseAccel(target, { kernel, qemu, hostArch: 'arm64' })).accel, 'tcg');
  t.same(await calls(), [], 'no probe run');
});

t.test('the probe runs the boot test\'s x86-64 machine and CPU under KVM on the given kernel, and stops at its panic', async (t) => {
  const args = probeArgs('/tmp/vmlinuz');
  for (const pair of [['-machine', 'pc'], ['-accel', 'kvm'], ['-cpu', 'host'], ['-kernel', '/tmp/vmlinuz'], ['-append', 'console=ttyS0 panic=-1']]) {
    t.equal(args[args.indexOf(pair[0]!) + 1], pair[1], pair.join(' '));
  }
  t.ok(args.includes('-no-reboot'));
  t.notOk(args.includes('-drive'), 'no disk: nothing to harm');
});

/** Boot the stand-in as the boot test does, up to the ready line. */
async function boot(t: Test, behaviour: Behaviour, accel: Accel) {
  const { dir, qemu, calls } = await setup(t, behaviour);
  const said: string[] = [];
  let vm: Vm | undefined;
  t.teardown(() => vm?.stop());
  const start = (a: Accel) => (vm = new Vm({ target, disk: join(dir, 'disk.raw'), dir, accel: a, qemu }));
  const result = bootWithFallback(accel, start, async (v) => (await v.waitFor(/yubin: ready[^\r\n]*[\r\n]/, 10_000))[0].trim(), (line) => said.push(line));
  return { result, said, calls, vm: () => vm };
}

t.test('a boot that KVM aborts early is done again under TCG, and the output says so', async (t) => {
  const { result, said, calls, vm } = await boot(t, 'nested', 'kvm');
  t.equal(await result, 'yubin: ready smtp=25 pop3=110');
  t.equal(vm()?.accel, 'tcg', 'the VM the steps go on with is the TCG one');
  t.same(await calls(), ['boot kvm', 'boot tcg,thread=multi']);
  t.equal(said.length, 1);
  t.match(said[0], /^qemu under KVM stopped before the ready line \(qemu exited \(SIGABRT\): qemu-system-x86_64: error: failed to set MSR 0x10a/);
  t.match(said[0], /booting again under TCG$/);
});

t.test('a boot under KVM that fails for another reason is not retried', async (t) => {
  const { result, said, calls } = await boot(t, 'bad-disk', 'kvm');
  await t.rejects(result, /Could not open disk\.raw/);
  t.same(said, []);
  t.same(await calls(), ['boot kvm']);
});

t.test('a boot that works under KVM stays under KVM', async (t) => {
  const { result, said, calls, vm } = await boot(t, 'works', 'kvm');
  t.equal(await result, 'yubin: ready smtp=25 pop3=110');
  t.equal(vm()?.accel, 'kvm');
  t.same(said, []);
  t.same(await calls(), ['boot kvm']);
});
