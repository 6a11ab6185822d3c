// `node bench/floor.ts`: the floor under Yubin's SMTP ingest on this machine, measured beside Postfix
// in the same run (bench/floor/sink.ts says what each Node sink does). If even the floor of a
// Node.js process is below a target ratio, no change inside Yubin reaches that target here.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { smtpSource } from './lib/load.ts';
import { tempDir, median, stopChild } from './lib/system.ts';
import { startPostfix } from './peers/postfix.ts';
import { startYubin } from './peers/yubin.ts';

const KiB = 1024;
const sink = fileURLToPath(new URL('./floor/sink.ts', import.meta.url));

async function startSink(kind: 'smtp-server' | 'raw') {
  const dir = await tempDir(`floor-${kind}-`);
  const child = spawn(process.execPath, [sink, kind, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = Number(await new Promise<string>((r) => createInterface({ input: child.stdout! }).once('line', r)));
  return { name: `Node floor (${kind})`, port, pid: child.pid!, count: async () => (await readdir(dir)).length, stop: () => stopChild(child) };
}

const peers = [
  await startSink('raw'),
  await startSink('smtp-server'),
  await startYubin({ dir: await tempDir('floor-yubin-'), user: 'bench', password: 'bench-password-1', apopSecret: 'bench-apop-secret', mode: 'accept', client: 'outside', groupCommitMs: 0, stages: 'default', build: 'source' }),
  await startPostfix({ dir: await tempDir('floor-postfix-'), mode: 'accept' }),
];
const rows: string[] = [];
for (const [size, sessions, count] of [[10 * KiB, 20, 400], [10 * KiB, 1, 60], [1 * KiB, 20, 400]] as const) {
  const rates = new Map<string, number[]>();
  for (let round = 0; round < 3; round++) {
    for (const p of peers) {
      const r = await smtpSource(p.port, size, count, sessions);
      rates.set(p.name, [...(rates.get(p.name) ?? []), r.perSecond]);
    }
  }
  const postfix = median(rates.get(peers[3]!.name)!);
  rows.push(`| ${size / KiB} KiB × ${sessions} | ${peers.map((p) => `${median(rates.get(p.name)!).toFixed(0)} (${(median(rates.get(p.name)!) / postfix).toFixed(2)}×)`).join(' | ')} |`);
}
for (const p of peers) await p.stop();
console.log(`| cell (msg/s, × Postfix) | ${peers.map((p) => p.name).join(' | ')} |\n|---|${peers.map(() => '---:').join('|')}|\n${rows.join('\n')}`);
