// Yubin as measured: the firmware in a child process with the V8 flags it ships with, on a data
// folder seeded like the tests do. `accept` mode is the edge role whose internal server never
// answers, so messages stay queued (like Postfix's HOLD); `maildir` mode delivers to a mailbox.
// What runs is what the image ships: the esbuild bundle (`npm run build`, made afresh once per
// bench run) with NODE_FLAGS, or the TypeScript sources with `npm run bench -- --source`.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { seed, startChild, repo, type ChildOptions } from '../../test/support/firmware.ts';
import { NODE_FLAGS } from '../../firmware/node-flags.ts';
import { Users } from '../../src/accounts/users.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { maildirOf } from '../../src/maildir/maildir.ts';
import { run, stopChild, waitForPort } from '../lib/system.ts';
import type { SmtpPeer } from './types.ts';

export interface YubinOptions {
  dir: string;
  mode: 'accept' | 'maildir';
  /** Content stages as shipped (senderauth off: no DNS off loopback), or only what cannot be turned off. */
  stages: 'default' | 'minimal';
  /** spool.groupCommitMs */
  groupCommitMs: number;
  /**
   * Who the load (127.0.0.1) is. `outside`: a server on the Internet sending to our users
   * (inbound: what Haraka and Postfix do here), greeted at once. `outside-paused`: the same with
   * the early-talker pause Yubin ships with for strangers on port 25 (smtp.greetingDelay, 100 ms).
   * `trusted`: an office PC (outbound: DKIM signing looked up, archive copy, mis-send delay check).
   */
  client: 'outside' | 'outside-paused' | 'trusted';
  user: string;
  password: string;
  apopSecret: string;
  /** The bundle the image ships (default), or the sources as `npm start` runs them (`--source`). */
  build?: YubinBuild;
  /** Settings over the bench's (a what-if: one stage turned off, say). */
  settings?: Record<string, unknown>;
  /** V8 flags and environment other than firmware/node-flags.ts's (bench/runtime-flags.ts). */
  runtime?: ChildOptions['runtime'];
}

export type YubinBuild = 'bundle' | 'source';

/** What the bench runs unless told otherwise: `npm run bench -- --source` picks the sources. */
export const defaultBuild: YubinBuild = process.argv.includes('--source') ? 'source' : 'bundle';

let bundled: Promise<string> | undefined;
let announced = false;
/** `npm run build` once per bench run, so the bundle measured is made from the sources checked out. */
function bundle(): Promise<string> {
  bundled ??= (async () => {
    const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
    const r = await run(process.execPath, [join(repo, 'image/bundle.ts'), '--arch', arch], { timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`npm run build failed: ${(r.stderr || r.stdout).slice(-1000)}`);
    return join(repo, 'dist', arch, 'yubin.mjs');
  })();
  return bundled;
}

export interface YubinPeer extends SmtpPeer {
  pop3: number;
  startMs: number;
  maildir: string;
}

export async function startYubin(o: YubinOptions): Promise<YubinPeer> {
  const blackhole = o.mode === 'accept' ? await silentServer() : null;
  const settings: Record<string, unknown> = {
    hostname: 'yubin.bench.test',
    domains: ['bench.test'],
    'listen.address': '127.0.0.1',
    'senderauth.enabled': false,
    'spool.groupCommitMs': o.groupCommitMs,
    // Room for the 50 MiB message of the memory figure.
    'smtp.maxSize': 100 * 1024 * 1024,
    // The load comes from one outside address: no per-address or per-network cap, no reserve and
    // no stress timeouts stand in its way (the peers have none either).
    'smtp.maxConnections': 2000,
    'smtp.maxConnectionsPerClient': 2000,
    'smtp.maxConnectionsPerNetwork': 2000,
    'smtp.reservedConnections': 0,
    'smtp.stressThreshold': 100,
    'pop3.maxSessions': 2000,
    'pop3.maxSessionsPerClient': 2000,
    'pop3.maxSessionsPerNetwork': 2000,
    'pop3.reservedSessions': 0,
    'pop3.stressThreshold': 100,
    'login.delayMs': 0,
    ...(o.client !== 'trusted' ? { trustedNetworks: ['192.0.2.0/24'] } : {}),
    ...(o.client === 'outside' ? { 'smtp.greetingDelay': 0 } : {}),
    ...(o.stages === 'minimal' ? { 'attachments.inbound': 'off', 'archive.enabled': false } : {}),
    ...(blackhole ? { role: 'edge', 'relay.internalHost': `127.0.0.1:${(blackhole.address() as AddressInfo).port}`, 'outbound.greetingTimeoutMs': 600_000 } : {}),
    ...o.settings,
  };
  await seed(o.dir, settings, [{ name: o.user, password: o.password, addresses: [`${o.user}@bench.test`] }]);
  const store = await ConfigStore.open(o.dir);
  await new Users(store).setApopSecret(o.user, o.apopSecret);
  store.close();

  const build = o.build ?? defaultBuild;
  const entry = build === 'bundle' ? await bundle() : undefined;
  if (!announced) console.error(`bench: Yubin runs ${entry ?? 'from its sources, firmware/yubin.ts'} with ${(o.runtime?.flags ?? NODE_FLAGS).join(' ')}`);
  announced = true;
  const started = performance.now();
  const fw = await startChild(o.dir, [], 30_000, { ...(entry ? { entry } : {}), ...(o.runtime ? { runtime: o.runtime } : {}) });
  await waitForPort(fw.ports.smtp!);
  const startMs = performance.now() - started;
  const queue = join(o.dir, 'spool', 'queue');
  const maildir = maildirOf(o.dir, o.user);
  const label = `Yubin${{ outside: '', 'outside-paused': ', 100 ms greeting pause', trusted: ', trusted LAN client' }[o.client]}${o.groupCommitMs ? `, group commit ${o.groupCommitMs} ms` : ''}${o.stages === 'minimal' ? ', minimal stages' : ''}`;
  return {
    name: label,
    port: fw.ports.smtp!,
    pop3: fw.ports.pop3!,
    pid: fw.child.pid!,
    startMs,
    maildir,
    async count() {
      if (o.mode === 'maildir') return (await readdir(join(maildir, 'new')).catch(() => [])).length;
      return (await readdir(queue)).filter((f) => f.endsWith('.json')).length;
    },
    async stop() {
      await stopChild(fw.child);
      await new Promise<void>((r) => (blackhole ? blackhole.close(() => r()) : r()));
    },
  };
}

/** A TCP server that accepts and never speaks: deliveries to it wait, costing nothing meanwhile. */
function silentServer(): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  const close = server.close.bind(server);
  server.close = (cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
