// Process and machine helpers for the bench: Debian packages, free ports, child processes with a
// deadline, and the RSS of a whole process tree (a peer's master and every worker it forks).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readdir, readFile, mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/ports.ts';

// Peers that cannot listen on port 0 and report it (Postfix, Dovecot, Haraka) get a free port.
export { freePort };

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command to completion, bounded by `timeoutMs`. */
export function run(cmd: string, args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, env: options.env ?? process.env }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Install the Debian packages the peers come from when missing (like test/prepare.sh). */
export async function ensurePackages(packages: string[]): Promise<void> {
  const missing: string[] = [];
  for (const p of packages) {
    const r = await run('dpkg-query', ['-W', '-f=${Status}', p]);
    if (!r.stdout.includes('install ok installed')) missing.push(p);
  }
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`bench: need root to apt-get install ${missing.join(' ')}`);
  console.error(`bench: installing ${missing.join(' ')}`);
  // No configuration for postfix, and RUNLEVEL=1 so invoke-rc.d starts no system daemon on port 25/110.
  await run('sh', ['-c', 'echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections']);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' };
  const r = await run('flock', ['/tmp/apt.lock', 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing], { env, timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
  // Should a package have started its system daemon anyway, stop it: the bench runs its own.
  await run('postfix', ['stop']);
  await run('sh', ['-c', 'command -v doveadm >/dev/null && doveadm stop || true']);
}


/** Wait until a TCP port accepts connections; returns the milliseconds it took. */
export async function waitForPort(port: number, timeoutMs = 20_000, host = '127.0.0.1'): Promise<number> {
  const started = performance.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** The pid and every descendant of it. */
export async function processTree(root: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // Field 4 (ppid) follows the command in parentheses, which may itself hold spaces.
    const m = /\) \S+ (\d+)/.exec(stat);
    if (m) parent.set(Number(name), Number(m[1]));
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/** Sum of VmRSS over a process tree, in bytes (shared pages count once per process, as `ps` shows). */
export async function treeRss(root: number): Promise<number> {
  let total = 0;
  for (const pid of await processTree(root)) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (m) total += Number(m[1]) * 1024;
  }
  return total;
}

/**
 * CPU time of a process tree in milliseconds: user + system of every process in it, plus what its
 * reaped children used (cutime, cstime). Postfix's short-lived smtpd and cleanup processes are
 * counted that way once master(8) has reaped them; a process that exits between two readings is
 * in the first as its own time and in the second as its parent's children's time, so a difference
 * of two readings is the tree's CPU in between. Clock ticks of 10 ms: read over hundreds of messages.
 */
export async function treeCpuMs(root: number): Promise<number> {
  let ticks = 0;
  for (const pid of await processTree(root)) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // After the command in parentheses: state is field 3, utime..cstime are fields 14–17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    for (const i of [11, 12, 13, 14]) ticks += Number(fields[i] ?? 0);
  }
  return (ticks * 1000) / CLOCK_TICKS;
}

/** USER_HZ: 100 on every Linux architecture the bench runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/** Sample a tree's RSS every `everyMs` until stopped; returns the peak. */
export function rssSampler(root: number, everyMs = 50): { stop(): Promise<number> } {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await treeRss(root));
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return Math.max(peak, await treeRss(root));
    },
  };
}

/** Spawn a long-running peer; its stderr tail is kept for error messages. */
export function spawnPeer(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; log(): string } {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, log: () => log };
}

/** Stop a child with SIGTERM, then SIGKILL after a grace period. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export const MiB = 1024 * 1024;

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
