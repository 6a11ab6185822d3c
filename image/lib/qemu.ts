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

export interface VmOptions {
  target: Target;
  disk: string;
  dir: string;
  /** arm64 -M virt has no Pi firmware: kernel, initrd and command line come from the test. */
  kernel?: { vmlinuz: string; initrd: string; append: string };
  memoryMiB?: number;
}

export function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export class Vm {
  readonly accel: 'kvm' | 'tcg';
  readonly startedAt = performance.now();
  readonly #child: ChildProcess;
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
    this.accel = target.arch === 'x64' && process.arch === 'x64' && kvmUsable() ? 'kvm' : 'tcg';
    const hostfwd = guestPorts.map((p) => `hostfwd=tcp:127.0.0.1:0-:${p}`).join(',');
    const common = [
      '-m', String(options.memoryMiB ?? 512), '-smp', '2', '-nodefaults', '-display', 'none',
      '-chardev', `socket,id=con,path=${this.#serialPath},server=on,wait=off`, '-serial', 'chardev:con',
      '-monitor', `unix:${this.#monitorPath},server=on,wait=off`,
      '-drive', `file=${disk},format=raw,if=virtio,cache=unsafe`,
      '-netdev', `user,id=n0,${hostfwd}`, '-device', 'virtio-net-pci,netdev=n0',
      '-rtc', 'base=utc',
    ];
    let cmd: string;
    let args: string[];
    if (target.arch === 'x64') {
      cmd = 'qemu-system-x86_64';
      args = ['-machine', 'pc', '-accel', this.accel === 'kvm' ? 'kvm' : 'tcg,thread=multi', '-cpu', this.accel === 'kvm' ? 'host' : 'max', ...common];
    } else {
      cmd = 'qemu-system-aarch64';
      args = ['-machine', 'virt', '-cpu', 'cortex-a72', '-accel', 'tcg,thread=multi', ...common];
    }
    if (options.kernel) args.push('-kernel', options.kernel.vmlinuz, '-initrd', options.kernel.initrd, '-append', options.kernel.append);
    this.#child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child.stderr?.on('data', (b: Buffer) => {
      this.#stderr = (this.#stderr + b.toString()).slice(-4000);
    });
    this.#child.on('exit', (code, signal) => {
      this.#exited = `qemu exited (${code ?? signal})${this.#stderr ? ': ' + this.#stderr.trim() : ''}`;
    });
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
    const gone = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}
