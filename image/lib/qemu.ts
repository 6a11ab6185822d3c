// One booted image under qemu: serial console and HMP monitor on unix sockets in a private
// folder, user-mode networking with host ports chosen by qemu (port 0) and read back from the
// monitor, so that several test runs can share the machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { existsSync, accessSync, constants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Target } from './targets.ts';

/** The guest ports the boot test talks to (forwarded from 127.0.0.1:<ephemeral>). */
export const guestPorts = [25, 587, 465, 110, 995] as const;
/** Serial text kept for matching; older text is dropped (the boot log is long, the bound is not). */
const serialKeep = 256 * 1024;

export type Accel = 'kvm' | 'tcg';

export interface VmOptions {
  target: Target;
  disk: string;
  dir: string;
  accel: Accel;
  /** arm64 -M virt has no Pi firmware: the boot loader qemu starts (-bios: the image's U-Boot for qemu virt). */
  bios?: string;
  memoryMiB?: number;
  /** A raw disk image plugged in as a USB stick (xHCI + usb-storage: the board's USB path). */
  usbStick?: string;
  /** The qemu program (default qemu-system-x86_64 / qemu-system-aarch64); tests use a stand-in. */
  qemu?: string;
}

const qemuFor = (target: Target) => (target.arch === 'x64' ? 'qemu-system-x86_64' : 'qemu-system-aarch64');

// --- KVM or TCG -----------------------------------------------------------------------------------
// A readable and writable /dev/kvm is not enough. Under nested virtualisation qemu -accel kvm may
// abort at the guest's first instructions ("failed to set MSR 0x10a"), or run it so slowly that it
// is no use: on the 2-CPU build machine a 7-instruction guest ran under KVM in 0.1 s, but Debian's
// kernel sat in its decompressor for minutes (RIP moving inside a 4 KiB loop) where TCG reaches the
// root-mount panic in 5 s. So the probe boots the image's own kernel, without disk or initrd, the way
// the boot test runs it, and KVM is used only when that kernel gets to its "VFS: Unable to mount
// root fs" panic within a few seconds.

/** What the kernel prints when it ran through early boot and found no root: the probe's goal. */
const probeGoal = /Kernel panic|Unable to mount root fs/;

/** The qemu arguments of the probe: the boot test's machine and CPU under KVM, the image's kernel. */
export function probeArgs(kernel: string): string[] {
  return ['-machine', 'pc', '-accel', 'kvm', '-cpu', 'host', '-smp', '2', '-m', '256', '-nodefaults', '-display', 'none',
    '-serial', 'stdio', '-no-reboot', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1'];
}

/** Whether qemu boots `kernel` under KVM here within `timeoutMs` (TCG takes ~5 s for it). */
export async function probeKvm(options: { kernel: string; qemu?: string; timeoutMs?: number }): Promise<{ usable: boolean; detail: string }> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const start = performance.now();
  return new Promise((resolve) => {
    const child = spawn(options.qemu ?? 'qemu-system-x86_64', probeArgs(options.kernel), { stdio: ['ignore', 'pipe', 'pipe'] });
    let serial = '';
    let stderr = '';
    let verdict: { usable: boolean; detail: string } | undefined;
    const took = () => ((performance.now() - start) / 1000).toFixed(1);
    const decide = (v: { usable: boolean; detail: string }) => {
      verdict ??= v;
      child.kill('SIGKILL');
    };
    child.stdout.on('data', (b: Buffer) => {
      serial = (serial + b.toString('latin1')).slice(-4000);
      if (probeGoal.test(serial)) decide({ usable: true, detail: `the kernel booted under KVM to its root-mount panic in ${took()} s` });
    });
    child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    const timer = setTimeout(() => {
      const last = serial.trim().split(/\r?\n/).at(-1);
      decide({ usable: false, detail: `the kernel did not get through early boot under KVM within ${timeoutMs / 1000} s${last ? ` (last console line: ${last.trim()})` : ''}` });
    }, timeoutMs);
    child.on('error', (err) => decide({ usable: false, detail: `qemu did not start: ${err.message}` }));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const said = stderr.trim().split('\n').filter(Boolean).slice(-2).join(' | ');
      resolve(verdict ?? { usable: false, detail: `qemu -accel kvm ${signal ? `was killed by ${signal}` : `exited ${code}`}${said ? `: ${said}` : ''}` });
    });
  });
}

export interface AccelChoice {
  accel: Accel;
  /** Why, for the test's output. */
  why: string;
}

/** KVM when the guest's CPU is the host's, /dev/kvm is there, and `kernel` boots under it (probeKvm); else TCG. */
export async function chooseAccel(target: Target, options: { kernel: string; qemu?: string; kvmDevice?: string; hostArch?: string; timeoutMs?: number }): Promise<AccelChoice> {
  if (target.arch !== 'x64' || (options.hostArch ?? process.arch) !== 'x64') return { accel: 'tcg', why: `no KVM for a ${target.arch} guest on this ${options.hostArch ?? process.arch} host` };
  const device = options.kvmDevice ?? '/dev/kvm';
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', why: `${device} is missing or not readable and writable` };
  }
  const probe = await probeKvm({ kernel: options.kernel, ...(options.qemu ? { qemu: options.qemu } : {}), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) });
  return probe.usable ? { accel: 'kvm', why: probe.detail } : { accel: 'tcg', why: `KVM unusable, falling back to TCG: ${probe.detail}` };
}

/** What qemu says when KVM itself fails (the nested MSR abort and its kin), not the guest or the disk. */
export const kvmError = /\bkvm\b|KVM|failed to set MSR/;

/**
 * Boot with `start(accel)` and wait with `untilReady`. When qemu under KVM exits with a KVM error
 * before that (KVM passed the probe but fails on the real guest), boot again under TCG. The caller
 * keeps the VM `start` made last and stops it; a VM given up here is stopped here.
 */
export async function bootWithFallback<T>(accel: Accel, start: (accel: Accel) => Vm, untilReady: (vm: Vm) => Promise<T>, say: (line: string) => void): Promise<T> {
  const vm = start(accel);
  try {
    await vm.attach();
    return await untilReady(vm);
  } catch (err) {
    const exit = vm.exited;
    if (accel !== 'kvm' || exit === undefined || !kvmError.test(exit)) throw err;
    say(`qemu under KVM stopped before the ready line (${exit.split('\n')[0]}): booting again under TCG`);
    await vm.stop();
    const again = start('tcg');
    await again.attach();
    return untilReady(again);
  }
}

export class Vm {
  readonly accel: 'kvm' | 'tcg';
  readonly startedAt = performance.now();
  readonly #child: ChildProcess;
  /** Settles when qemu has exited and its stderr is read to the end. */
  readonly #closed: Promise<void>;
  readonly #serialPath: string;
  readonly #monitorPath: string;
  #serial: Socket | undefined;
  #text = '';
  /** Offset in #text up to which earlier waits have consumed. */
  #mark = 0;
  #exited: string | undefined;
  #stderr = '';

  constructor(options: VmOptions) {
    const { target, disk, dir } = options;
    this.#serialPath = `${dir}/serial.sock`;
    this.#monitorPath = `${dir}/monitor.sock`;
    this.accel = options.accel;
    const hostfwd = guestPorts.map((p) => `hostfwd=tcp:127.0.0.1:0-:${p}`).join(',');
    const common = [
      '-m', String(options.memoryMiB ?? 512), '-smp', '2', '-nodefaults', '-display', 'none',
      '-chardev', `socket,id=con,path=${this.#serialPath},server=on,wait=off`, '-serial', 'chardev:con',
      '-monitor', `unix:${this.#monitorPath},server=on,wait=off`,
      '-drive', `file=${disk},format=raw,if=virtio,cache=unsafe`,
      '-netdev', `user,id=n0,${hostfwd}`, '-device', 'virtio-net-pci,netdev=n0',
      '-rtc', 'base=utc',
      ...(options.usbStick ? ['-device', 'qemu-xhci,id=xhci', '-drive', `if=none,id=stick,file=${options.usbStick},format=raw,cache=unsafe`, '-device', 'usb-storage,bus=xhci.0,drive=stick'] : []),
    ];
    const cmd = options.qemu ?? qemuFor(target);
    const args = target.arch === 'x64'
      ? ['-machine', 'pc', '-accel', this.accel === 'kvm' ? 'kvm' : 'tcg,thread=multi', '-cpu', this.accel === 'kvm' ? 'host' : 'max', ...common]
      : ['-machine', 'virt', '-cpu', 'cortex-a72', '-accel', 'tcg,thread=multi', ...common];
    if (options.bios) args.push('-bios', options.bios);
    this.#child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child.stderr?.on('data', (b: Buffer) => {
      this.#stderr = (this.#stderr + b.toString()).slice(-4000);
    });
    // 'close', not 'exit': what qemu said last (a KVM abort) is read by then.
    this.#closed = new Promise((resolve) => {
      this.#child.on('close', (code, signal) => {
        this.#exited = `qemu exited (${code ?? signal})${this.#stderr ? ': ' + this.#stderr.trim() : ''}`;
        resolve();
      });
      this.#child.on('error', (err) => {
        this.#exited = `qemu did not start: ${err.message}`;
        resolve();
      });
    });
  }

  /** How qemu ended, once it has. */
  get exited(): string | undefined {
    return this.#exited;
  }

  async #connect(path: string, timeoutMs: number): Promise<Socket> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.#exited) throw new Error(this.#exited);
      if (existsSync(path)) {
        try {
          return await new Promise<Socket>((resolve, reject) => {
            const s = connect(path, () => resolve(s));
            s.once('error', reject);
          });
        } catch {}
      }
      if (performance.now() > deadline) throw new Error(`no qemu socket ${path} after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** Attach to the serial console; everything the guest prints from then on is kept for waitFor(). */
  async attach(): Promise<void> {
    this.#serial = await this.#connect(this.#serialPath, 15_000);
    this.#serial.on('data', (b: Buffer) => {
      this.#text += b.toString('latin1');
      if (this.#text.length > serialKeep) {
        const cut = this.#text.length - serialKeep;
        this.#text = this.#text.slice(cut);
        this.#mark = Math.max(0, this.#mark - cut);
      }
    });
    this.#serial.on('error', () => undefined);
  }

  /** Wait for `pattern` in serial text printed after the previous match; bounded by `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.#text.slice(this.#mark));
      if (m) {
        this.#mark += m.index + m[0].length;
        return m;
      }
      if (this.#exited) throw new Error(`${this.#exited}; last console lines:\n${this.tail()}`);
      if (performance.now() > deadline) throw new Error(`no ${pattern} on the console within ${(timeoutMs / 1000).toFixed(0)} s; last console lines:\n${this.tail()}`);
      await sleep(100);
    }
  }

  /** Whether `pattern` shows up before `timeoutMs` (no error when it does not). */
  async sees(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray | null> {
    try {
      return await this.waitFor(pattern, timeoutMs);
    } catch (err) {
      if (this.#exited) throw err;
      return null;
    }
  }

  tail(lines = 25): string {
    return this.#text.split(/\r?\n/).slice(-lines).join('\n');
  }

  /** Type on the serial console, as an operator at a terminal would (CR ends a line). */
  type(text: string): void {
    this.#serial?.write(text);
  }

  /** Run one HMP monitor command and return its output. */
  async monitor(command: string): Promise<string> {
    const s = await this.#connect(this.#monitorPath, 15_000);
    try {
      let out = '';
      const prompt = async () => {
        const deadline = performance.now() + 10_000;
        while (!out.endsWith('(qemu) ')) {
          if (performance.now() > deadline) throw new Error(`qemu monitor did not answer ${command}`);
          await sleep(20);
        }
      };
      s.on('data', (b: Buffer) => (out += b.toString()));
      await prompt();
      out = '';
      s.write(`${command}\n`);
      await prompt();
      return out.replace(/\r/g, '');
    } finally {
      s.destroy();
    }
  }

  /** Host port (on 127.0.0.1) that qemu forwards to `guestPort`. */
  async hostPort(guestPort: number): Promise<number> {
    const table = await this.monitor('info usernet');
    // "  TCP[HOST_FORWARD]  13   127.0.0.1 40123   10.0.2.15    25     0     0"
    for (const line of table.split('\n')) {
      const m = /HOST_FORWARD\]\s+\d+\s+127\.0\.0\.1\s+(\d+)\s+\S+\s+(\d+)/.exec(line);
      if (m && Number(m[2]) === guestPort) return Number(m[1]);
    }
    throw new Error(`qemu forwards no host port to guest port ${guestPort}:\n${table}`);
  }

  /** Hard reset, like pulling the power: what survives must have been written durably. */
  async reset(): Promise<void> {
    await this.monitor('system_reset');
  }

  async stop(): Promise<void> {
    this.#serial?.destroy();
    if (this.#exited) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.#closed;
    clearTimeout(timer);
  }
}
