// What the web listener and ACME cost at idle: RSS of the firmware (the image's bundle, with the
// image's flags) 10 s after its ready line, with no web listener (the default), with the MTA-STS
// HTTPS listener, with plain HTTP always on too, and after an ACME issuance from pebble (acme-client
// then stays loaded). Median of three starts each.  node bench/web-idle.ts [--source]
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, startChild, repo, BASE_SETTINGS, type TestTap } from '../test/support/firmware.ts';
import { freePort, freePorts } from '../test/support/ports.ts';
import { startPebble } from '../test/support/pebble.ts';

const source = process.argv.includes('--source');
const entry = source ? undefined : join(repo, 'dist/x64/yubin.mjs');
const teardowns: Array<() => unknown> = [];
const t: TestTap = { teardown: (fn) => void teardowns.push(fn) };

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

async function measure(settings: Record<string, unknown>, settle: (dataDir: string) => Promise<void> = async () => undefined): Promise<number> {
  const ports = await freePorts(7);
  const dataDir = await tempDir(t);
  await seed(dataDir, {
    ...BASE_SETTINGS, 'smtp.port': ports[0], 'smtp.submissionPort': ports[1], 'smtp.smtpsPort': ports[2], 'pop3.port': ports[3], 'pop3.tlsPort': ports[4],
    'web.port': ports[5], 'web.tlsPort': ports[6], ...settings,
  });
  const fw = await startChild(dataDir, [], 30_000, { configuredPorts: true, ...(entry ? { entry } : {}) });
  try {
    await settle(dataDir);
    await new Promise((r) => setTimeout(r, 10_000));
    return await rssKiB(fw.child.pid!);
  } finally {
    fw.child.kill('SIGKILL');
    await fw.exited;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: Array<[string, number]> = [];
for (const [name, settings] of [
  ['no web listener (default)', {}],
  ['MTA-STS HTTPS listener', { 'mtasts.mode': 'testing' }],
  ['HTTPS + HTTP always', { 'mtasts.mode': 'testing', 'web.http': 'always' }],
] as const) {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push(await measure(settings));
  rows.push([name, median(runs)]);
}
{
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const web = await freePort();
    const pebble = await startPebble(t, { httpPort: web, tlsPort: web });
    runs.push(await measure({ 'acme.enabled': true, 'acme.directory': pebble.directory, 'tls.extraRoots': pebble.serverCaFile, 'web.port': web }, async (dataDir) => {
      const until = Date.now() + 30_000;
      while (!(await readFile(join(dataDir, 'acme', 'state.json'), 'utf8').then((s) => s.includes('"issued"'), () => false))) {
        if (Date.now() > until) throw new Error('no issuance');
        await new Promise((r) => setTimeout(r, 200));
      }
    }));
  }
  rows.push(['after an ACME HTTP-01 issuance', median(runs)]);
}
const base = rows[0]![1];
console.log(`| idle firmware (${source ? 'sources' : 'bundle'}) | RSS | vs default |\n|---|---|---|`);
for (const [name, kib] of rows) console.log(`| ${name} | ${(kib / 1024).toFixed(1)} MiB | ${kib === base ? '—' : `+${((kib - base) / 1024).toFixed(1)} MiB`} |`);
for (const fn of teardowns.reverse()) await fn();
process.exit(0);
