// Haraka as a peer: one process (no cluster), a config folder of our own, and the bench_fsync
// queue plugin that writes each message to disk with fsync before it answers 250.
import { mkdir, writeFile, copyFile, readdir, readFile, cp } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnPeer, stopChild, waitForPort } from '../lib/system.ts';
import type { SmtpPeer } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../..');

export async function startHaraka(dir: string): Promise<SmtpPeer & { startMs: number }> {
  const config = join(dir, 'config');
  // Not 'queue': that is Haraka's own outbound queue folder.
  const queue = join(dir, 'bench-queue');
  // Haraka's own defaults (what `haraka -i` installs), then ours on top.
  await cp(join(repo, 'node_modules/Haraka/config'), config, { recursive: true });
  await mkdir(join(dir, 'plugins'), { recursive: true });
  await copyFile(join(here, '../haraka/bench_fsync.js'), join(dir, 'plugins', 'bench_fsync.js'));
  const port = await freePort();
  // Haraka's own smtp.ini (its [message] greeting and defaults) with our listen address.
  const ini = await readFile(join(repo, 'node_modules/Haraka/config/smtp.ini'), 'utf8');
  await writeFile(join(config, 'smtp.ini'), `listen=127.0.0.1:${port}\nnodes=0\n${ini}`);
  await writeFile(join(config, 'plugins'), 'bench_fsync\n');
  await writeFile(join(config, 'log.ini'), '[main]\nlevel=warn\ntimestamps=false\n');
  await writeFile(join(config, 'me'), 'haraka.bench.test\n');
  // Room for the 50 MiB message of the memory figure.
  const connection = await readFile(join(config, 'connection.ini'), 'utf8');
  await writeFile(join(config, 'connection.ini'), connection.replace(/^bytes=\d+$/m, `bytes=${100 * 1024 * 1024}`));
  const started = performance.now();
  const peer = spawnPeer(process.execPath, [join(repo, 'node_modules/Haraka/bin/haraka'), '-c', dir], { ...process.env, BENCH_QUEUE_DIR: queue });
  await waitForPort(port).catch((err: Error) => {
    throw new Error(`${err.message}; haraka: ${peer.log()}`);
  });
  const startMs = performance.now() - started;
  return {
    name: 'Haraka',
    port,
    pid: peer.child.pid!,
    startMs,
    count: async () => (await readdir(join(queue, 'new')).catch(() => [])).length,
    stop: () => stopChild(peer.child),
  };
}
