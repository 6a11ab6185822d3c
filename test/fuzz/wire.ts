// The SMTP and POP3 targets' side of the socket: the firmware as a child process started as the
// tests start it (test/support/firmware.ts startChild: NODE_FLAGS, the appliance's 128 MiB heap),
// with a DNS server of our own on loopback so nothing leaves the machine, and a player that sends
// a session's bytes and keeps everything the server said. A child that died is started again
// before the next case, so fast-check can shrink a case that kills it.
import { connect } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seed, startChild, BASE_SETTINGS, type ChildFirmware } from '../support/firmware.ts';
import { TestDnsServer } from '../support/dns-server.ts';

/** Limits raised so that the fuzzer's own traffic is not what stops it (they were the old fuzzer's). */
export const WIRE_SETTINGS = {
  'smtp.greetingDelay': 0,
  'smtp.maxConnections': 2000,
  'smtp.maxConnectionsPerClient': 200,
  'smtp.socketTimeout': 30,
  'pop3.allowCleartext': true,
  'smtp.maxConnectionsPerNetwork': 2000,
  'pop3.maxSessions': 2000,
  'pop3.maxSessionsPerClient': 200,
  'pop3.maxSessionsPerNetwork': 2000,
  'login.delayMs': 0,
  'login.pairFailures': 1000,
  'login.sourceFailures': 1000,
};

export const ALICE = { name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] };

/** What stderr shows when node dies of an error (the firmware logs its own errors otherwise). */
const CRASH = /Unhandled|uncaught|triggerUncaughtException|Node\.js v\d+|FATAL ERROR|heap out of memory/i;

/** The part of stderr that says why node died (its error and stack), else the tail. */
function crashOf(stderr: string): string {
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => CRASH.test(l) || /^\w*Error\b/.test(l));
  return (at >= 0 ? lines.slice(Math.max(0, at - 2), at + 25) : lines.slice(-25)).join('\n');
}

export interface WireFirmware {
  ports(): Record<string, number>;
  dataDir: string;
  pid(): number;
  /** Why the child is not fine (exited, or crash text on stderr), or null. */
  trouble(): string | null;
  /** Resolves when the child has exited, or after `ms`. */
  exitWithin(ms: number): Promise<void>;
  /** Start the child again if it died; true when it had to. */
  revive(): Promise<boolean>;
  /** Times the child died during the run. */
  deaths: number;
  close(): Promise<void>;
}

export async function startWireFirmware(settings: Record<string, unknown>, before?: (dataDir: string) => Promise<void>): Promise<WireFirmware> {
  // Every name is unknown here: sender checks and MX lookups end at once, on loopback.
  const dns = await new TestDnsServer({}).start();
  const dataDir = await mkdtemp(join(tmpdir(), 'yubin-fuzz-wire-'));
  let child: ChildFirmware | null = null;
  try {
    await seed(dataDir, { ...BASE_SETTINGS, ...WIRE_SETTINGS, 'dns.servers': [dns.address], 'dns.timeoutMs': 500, ...settings }, [ALICE]);
    await before?.(dataDir);
    child = await startChild(dataDir);
  } catch (err) {
    await dns.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  let seen = 0;
  let dead = false;
  const watch = (c: ChildFirmware) => void c.exited.then(() => (dead = true));
  watch(child);
  const wire: WireFirmware = {
    ports: () => child!.ports,
    dataDir,
    pid: () => child!.child.pid!,
    deaths: 0,
    trouble() {
      const c = child!;
      if (dead) return `the firmware exited: ${crashOf(c.stderr())}`;
      const err = c.stderr();
      if (err.length !== seen && CRASH.test(err)) {
        seen = err.length;
        return `the firmware's stderr: ${crashOf(err)}`;
      }
      return null;
    },
    exitWithin: (ms) => Promise.race([child!.exited, new Promise<void>((r) => setTimeout(r, ms))]),
    async revive() {
      if (!dead) return false;
      wire.deaths++;
      child = await startChild(dataDir);
      dead = false;
      watch(child);
      seen = 0;
      return true;
    },
    async close() {
      // A clean stop (SIGTERM) lets V8 write its coverage when NODE_V8_COVERAGE is set; then SIGKILL.
      child?.child.kill('SIGTERM');
      await wire.exitWithin(10_000);
      child?.child.kill('SIGKILL');
      await child?.exited;
      await dns.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return wire;
}

/** `wait`: ms to wait for the server's next complete reply after this chunk (0: do not wait);
 * `after`: wait that long only if the last reply so far starts so (a DATA body after 354), else 300 ms. */
export type Chunk = { bytes: Buffer; wait: number; after?: string } | { pause: number };

export interface Played {
  output: Buffer;
  /** We reset the connection (output may end mid-line). */
  reset: boolean;
  /** The server closed the connection before we were done. */
  serverClosed: boolean;
}

/**
 * Send the chunks on a fresh connection from `local`, each waiting as long as it says for the
 * server's next complete reply (`replies` counts them). Then wait for the server to fall silent,
 * half-close (or reset) and collect what is left; every wait is bounded.
 */
export function play(port: number, local: string, chunks: Chunk[], close: 'end' | 'destroy', replies: (out: Buffer) => number): Promise<Played> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: local });
    const out: Buffer[] = [];
    let outBytes = 0;
    let lastData = Date.now();
    let wake: (() => void) | null = null;
    let closed = false;
    let sent = false;
    let reset = false;
    const hard = setTimeout(() => {
      reset = true;
      socket.destroy();
    }, 30_000);
    const output = () => Buffer.concat(out, outBytes);
    socket.on('data', (d: Buffer) => {
      lastData = Date.now();
      // Bounded: a server that echoes a flood must not grow the fuzzer without end.
      if (outBytes < 4 * 1024 * 1024) {
        out.push(d);
        outBytes += d.length;
      }
      wake?.();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      clearTimeout(hard);
      wake?.();
      resolve({ output: output(), reset, serverClosed: !sent && !reset });
    });
    const until = (done: () => boolean, ms: number) =>
      new Promise<void>((r) => {
        if (done() || closed) return r();
        const timer = setTimeout(() => {
          wake = null;
          r();
        }, ms);
        wake = () => {
          if (!done() && !closed) return;
          clearTimeout(timer);
          wake = null;
          r();
        };
      });
    const silent = async (quietMs: number, maxMs: number) => {
      const end = Date.now() + maxMs;
      while (!closed && Date.now() < end) {
        const quiet = Date.now() - lastData;
        if (quiet >= quietMs) return;
        await new Promise((r) => setTimeout(r, quietMs - quiet));
      }
    };
    socket.once('connect', async () => {
      await until(() => replies(output()) >= 1, 2000);
      for (const c of chunks) {
        if (closed) return;
        if ('pause' in c) {
          await new Promise((r) => setTimeout(r, c.pause));
          continue;
        }
        const before = replies(output());
        const wait = c.after === undefined || lastReplyStarts(output(), c.after) ? c.wait : Math.min(c.wait, 300);
        if (!socket.write(c.bytes)) await new Promise((r) => socket.once('drain', r));
        if (wait > 0) await until(() => replies(output()) > before, wait);
      }
      sent = true;
      await silent(60, 5000);
      if (closed) return;
      if (close === 'destroy') {
        reset = true;
        socket.destroy();
        return;
      }
      socket.end();
      // What the server still says after our half close; then we reset if it keeps the line.
      await until(() => false, 300);
      if (!closed) {
        reset = true;
        socket.destroy();
      }
    });
  });
}

function lastReplyStarts(out: Buffer, prefix: string): boolean {
  const text = out.subarray(-512).toString('latin1');
  const lines = text.split('\r\n');
  return (lines.at(-2) ?? '').startsWith(prefix);
}

/** Resident set size of a process, KiB (0 once it is gone). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}
