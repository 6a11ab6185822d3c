// `node bench/runtime-flags.ts`: what the V8 flags and the environment of firmware/node-flags.ts
// buy, measured against variants in the same run. Each variant runs the shipped bundle (made by
// `npm run build` beforehand) in the edge role with an internal server that never answers, so
// accepted mail stays queued (as in `npm run bench`), and takes three bursts from smtp-source.
// Printed: idle RSS, peak RSS during the bursts, RSS 15 s after them, and messages/s.
//
//   node bench/runtime-flags.ts                    # 10 KiB × 20 sessions, 400 messages a burst
//   node bench/runtime-flags.ts --size=1048576 --sessions=100 --count=100
//   node bench/runtime-flags.ts --variants=0 --rounds=1   # only as shipped, once
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { seed, startChild, repo } from '../test/support/firmware.ts';
import { NODE_FLAGS, RUNTIME_ENV } from '../firmware/node-flags.ts';
import { smtpSource } from './lib/load.ts';
import { run } from './lib/system.ts';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const size = arg('size', 10 * 1024);
const sessions = arg('sessions', 20);
const count = arg('count', 400);
const rounds = arg('rounds', 2);

interface Variant {
  name: string;
  flags: readonly string[];
  env: Record<string, string>;
}

const shipped = NODE_FLAGS.filter((f) => !f.startsWith('--max-old-space-size'));
const allVariants: Variant[] = [
  { name: 'as shipped', flags: NODE_FLAGS, env: RUNTIME_ENV },
  { name: 'without --max-old-space-size', flags: shipped, env: RUNTIME_ENV },
  { name: 'without MALLOC_ARENA_MAX', flags: NODE_FLAGS, env: {} },
  { name: 'plus --optimize-for-size', flags: [...NODE_FLAGS, '--optimize-for-size'], env: RUNTIME_ENV },
];
// --variants=0,2 measures only those (0 is as shipped).
const picked = process.argv.find((a) => a.startsWith('--variants='))?.split('=')[1]?.split(',').map(Number);
const variants = picked ? allVariants.filter((_, i) => picked.includes(i)) : allVariants;

interface Status {
  rss: number;
  anon: number;
}

async function status(pid: number): Promise<Status> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(text)![1]);
  return { rss: kib('VmRSS') / 1024, anon: kib('RssAnon') / 1024 };
}

/** A TCP server that accepts and never speaks: deliveries to it wait, costing nothing meanwhile. */
async function silentServer() {
  const server = createServer(() => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

async function measure(v: Variant, bundle: string) {
  const internal = await silentServer();
  const dir = await mkdtemp(join(tmpdir(), 'yubin-flags-'));
  await seed(dir, {
    hostname: 'yubin.bench.test',
    domains: ['bench.test'],
    'listen.address': '127.0.0.1',
    'senderauth.enabled': false,
    'smtp.greetingDelay': 0,
    'smtp.maxConnections': 2000,
    'smtp.maxConnectionsPerClient': 2000,
    trustedNetworks: ['192.0.2.0/24'],
    role: 'edge',
    'relay.internalHost': `127.0.0.1:${(internal.address() as AddressInfo).port}`,
    'outbound.greetingTimeoutMs': 600_000,
  }, [{ name: 'bench', password: 'bench-password-1', addresses: ['bench@bench.test'] }]);
  const fw = await startChild(dir, [], 30_000, { entry: bundle, runtime: { flags: v.flags, env: v.env } });
  try {
    const pid = fw.child.pid!;
    await new Promise((r) => setTimeout(r, 2000));
    const idle = await status(pid);
    let peak = idle;
    const sampler = setInterval(() => status(pid).then((s) => { if (s.rss > peak.rss) peak = s; }, () => undefined), 20);
    const rates: number[] = [];
    for (let i = 0; i < 3; i++) rates.push((await smtpSource(fw.ports.smtp!, size, count, sessions)).perSecond);
    clearInterval(sampler);
    await new Promise((r) => setTimeout(r, 15_000));
    const later = await status(pid);
    return { idle, peak, later, rate: rates.sort((a, b) => a - b)[1]! };
  } finally {
    fw.child.kill('SIGKILL');
    internal.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
const build = await run(process.execPath, [join(repo, 'image/bundle.ts'), '--arch', arch], { timeoutMs: 300_000 });
if (build.code !== 0) throw new Error(`npm run build failed: ${build.stderr.slice(-800)}`);
const bundle = join(repo, 'dist', arch, 'yubin.mjs');

const rows = new Map<string, Awaited<ReturnType<typeof measure>>[]>();
// Variants take turns within a round, so a change in the machine's load hits all of them.
for (let round = 0; round < rounds; round++) {
  for (const v of variants) {
    const r = await measure(v, bundle);
    rows.set(v.name, [...(rows.get(v.name) ?? []), r]);
    console.error(`runtime-flags: ${v.name}: peak ${r.peak.rss.toFixed(1)} MiB, ${r.rate.toFixed(0)} msg/s`);
  }
}
const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`Runtime flags, ${new Date().toISOString()}, ${size} B × ${sessions} sessions, 3 bursts of ${count}, ${rounds} rounds (median of rounds); shipped: ${NODE_FLAGS.join(' ')} ${Object.entries(RUNTIME_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
console.log('| variant | idle RSS (MiB) | peak RSS (MiB) | peak anon (MiB) | 15 s after (MiB) | msg/s (median burst) |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, rs] of rows) {
  console.log(`| ${name} | ${mid(rs.map((r) => r.idle.rss)).toFixed(1)} | ${mid(rs.map((r) => r.peak.rss)).toFixed(1)} | ${mid(rs.map((r) => r.peak.anon)).toFixed(1)} | ${mid(rs.map((r) => r.later.rss)).toFixed(1)} | ${mid(rs.map((r) => r.rate)).toFixed(0)} |`);
}
