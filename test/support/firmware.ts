// Start Yubin for a test: in this process (fast, for most tests) or as a child process (for
// kill -9 and RSS measurements). Data goes to a fresh temp folder; listeners bind free ports.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startFirmware, type Firmware } from '../../firmware/supervisor.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { NODE_FLAGS, RUNTIME_ENV } from '../../firmware/node-flags.ts';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface TestTap {
  teardown(fn: () => unknown): void;
}

export async function tempDir(t: TestTap, prefix = 'yubin-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Write settings and users into a data folder before the firmware starts. */
export async function seed(
  dataDir: string,
  settings: Record<string, unknown> = {},
  users: Array<{ name: string; password: string; addresses?: string[]; quota?: number }> = [],
): Promise<void> {
  const store = await ConfigStore.open(dataDir);
  for (const [k, v] of Object.entries(settings)) store.stageValue(k, v);
  await store.commit();
  const { Users } = await import('../../src/accounts/users.ts');
  const u = new Users(store);
  for (const user of users) await u.add(user.name, user.password, { addresses: user.addresses ?? [], ...(user.quota !== undefined ? { quota: user.quota } : {}) });
  store.close();
}

export const BASE_SETTINGS = {
  hostname: 'mx.yubin.test',
  domains: ['yubin.test'],
  'listen.address': '127.0.0.1',
};

export async function startInProcess(t: TestTap, settings: Record<string, unknown> = {}, users: Parameters<typeof seed>[2] = []): Promise<Firmware> {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, ...settings }, users);
  const fw = await startFirmware({ dataDir, ephemeralPorts: true, log: stderrLogger('error') });
  t.teardown(() => fw.stop());
  return fw;
}

export interface ChildFirmware {
  child: ChildProcess;
  ports: Record<string, number>;
  dataDir: string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** The last 4 KiB the process wrote to stderr (for failure messages). */
  stderr(): string;
  /** The last 8 KiB of stdout, including what came in the same read as the ready line
   * (the console's first prompt follows it at once and would otherwise be missed). */
  stdout(): string;
}

export interface ChildOptions {
  /** A command the node process is started through, e.g. a shell that mounts a tmpfs first
   * (its last argument is followed by node and its arguments). */
  wrapper?: string[];
  /** Keep the child's stdin open (the console on stdio) instead of closing it. */
  stdin?: boolean;
  /** The script to run: the sources' firmware/yubin.ts by default, or a bundle (dist/x64/yubin.mjs). */
  entry?: string;
  /** Listen on the configured ports, not free ones (a test in a network namespace of its own). */
  configuredPorts?: boolean;
  /** V8 flags and environment instead of NODE_FLAGS and RUNTIME_ENV (bench/runtime-flags.ts compares them). */
  runtime?: { flags: readonly string[]; env: Readonly<Record<string, string>> };
}

/** Run `yubin start` in a child process on `dataDir` and wait for its ready line. */
export function startChild(dataDir: string, extraArgs: string[] = [], timeoutMs = 20_000, options: ChildOptions = {}): Promise<ChildFirmware> {
  const runtime = options.runtime ?? { flags: NODE_FLAGS, env: RUNTIME_ENV };
  const argv = [process.execPath, ...runtime.flags, options.entry ?? join(repo, 'firmware/yubin.ts'), 'start', '--data', dataDir, ...(options.configuredPorts ? [] : ['--ephemeral-ports']), ...extraArgs];
  const [command, ...args] = [...(options.wrapper ?? []), ...argv] as [string, ...string[]];
  const child = spawn(command, args, {
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...runtime.env },
  });
  const exited = new Promise<void>((r) => child.once('exit', (code, signal) => {
    stderr += `\n[exit code=${code} signal=${signal}]`;
    r();
  }));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout = (stdout + d.toString('latin1')).slice(-8000);
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`firmware not ready within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`firmware exited with ${code} before ready; stderr: ${stderr}`));
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (!line.startsWith('yubin: ready')) return;
      clearTimeout(timer);
      const ports: Record<string, number> = {};
      for (const m of line.matchAll(/(\w+)=(\d+)/g)) ports[m[1]!] = Number(m[2]);
      resolvePromise({ child, ports, dataDir, exited, stderr: () => stderr, stdout: () => stdout });
    });
  });
}
