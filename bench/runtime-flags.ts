// `node bench/runtime-flags.ts`: what the V8 flags and the environment of firmware/node-flags.ts
// buy, measured against variants in the same run. Each variant is the bench's Yubin (the shipped
// bundle, accept-only: accepted mail stays queued, as in `npm run bench`) with other flags, and
// takes three bursts from smtp-source. Printed: idle RSS, peak RSS during the bursts, RSS 15 s
// after them, and messages/s.
//
//   node bench/runtime-flags.ts                    # 10 KiB × 20 sessions, 400 messages a burst
//   node bench/runtime-flags.ts --size=1048576 --sessions=100 --count=100
//   node bench/runtime-flags.ts --variants=0 --rounds=1   # only as shipped, once
import { rm } from 'node:fs/promises';
import { NODE_FLAGS, RUNTIME_ENV } from '../firmware/node-flags.ts';
import { startYubin } from './peers/yubin.ts';
import { smtpSource } from './lib/load.ts';
import { treeRss, rssSampler, median, sleep, tempDir, MiB } from './lib/system.ts';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const size = arg('size', 10 * 1024);
const sessions = arg('sessions', 20);
const count = arg('count', 400);
const rounds = arg('rounds', 2);

interface Variant {
  name: string;
  flags: readonly string[];
  env: Readonly<Record<string, string>>;
}

const allVariants: Variant[] = [
  { name: 'as shipped', flags: NODE_FLAGS, env: RUNTIME_ENV },
  { name: 'without --max-old-space-size', flags: NODE_FLAGS.filter((f) => !f.startsWith('--max-old-space-size')), env: RUNTIME_ENV },
  { name: 'without MALLOC_ARENA_MAX', flags: NODE_FLAGS, env: {} },
  { name: 'plus --optimize-for-size', flags: [...NODE_FLAGS, '--optimize-for-size'], env: RUNTIME_ENV },
];
// --variants=0,2 measures only those (0 is as shipped).
const picked = process.argv.find((a) => a.startsWith('--variants='))?.split('=')[1]?.split(',').map(Number);
const variants = picked ? allVariants.filter((_, i) => picked.includes(i)) : allVariants;

interface Row {
  idle: number;
  peak: number;
  later: number;
  rate: number;
}

async function measure(v: Variant): Promise<Row> {
  const dir = await tempDir('yubin-flags-');
  const yubin = await startYubin({
    dir,
    mode: 'accept',
    stages: 'default',
    groupCommitMs: 0,
    client: 'outside',
    user: 'bench',
    password: 'bench-password-1',
    apopSecret: 'bench-apop-secret',
    runtime: { flags: v.flags, env: v.env },
  });
  try {
    await sleep(2000);
    const idle = await treeRss(yubin.pid);
    const sampler = rssSampler(yubin.pid, 20);
    const rates: number[] = [];
    for (let i = 0; i < 3; i++) rates.push((await smtpSource(yubin.port, size, count, sessions)).perSecond);
    const peak = await sampler.stop();
    await sleep(15_000);
    return { idle: idle / MiB, peak: peak / MiB, later: (await treeRss(yubin.pid)) / MiB, rate: median(rates) };
  } finally {
    await yubin.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const rows = new Map<string, Row[]>();
// Variants take turns within a round, so a change in the machine's load hits all of them.
for (let round = 0; round < rounds; round++) {
  for (const v of variants) {
    const r = await measure(v);
    rows.set(v.name, [...(rows.get(v.name) ?? []), r]);
    console.error(`runtime-flags: ${v.name}: peak ${r.peak.toFixed(1)} MiB, ${r.rate.toFixed(0)} msg/s`);
  }
}
const shipped = `${NODE_FLAGS.join(' ')} ${Object.entries(RUNTIME_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}`;
console.log(`Runtime flags, ${new Date().toISOString()}, ${size} B × ${sessions} sessions, 3 bursts of ${count}, median of ${rounds} rounds; shipped: ${shipped}\n`);
console.log('| variant | idle RSS (MiB) | peak RSS (MiB) | 15 s after (MiB) | msg/s (median burst) |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, rs] of rows) {
  const col = (pick: (r: Row) => number, digits: number) => median(rs.map(pick)).toFixed(digits);
  console.log(`| ${name} | ${col((r) => r.idle, 1)} | ${col((r) => r.peak, 1)} | ${col((r) => r.later, 1)} | ${col((r) => r.rate, 0)} |`);
}
