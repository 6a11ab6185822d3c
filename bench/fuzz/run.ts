// npm run fuzz [-- CASES [SEED [TARGET]]] [--path=P] [--known=REGEX]: the long fuzz run, CASES per
// target (default 2000), every target or the one named (address, mime, console, smtp, pop3). A
// failure is shrunk and printed with the line that replays it; the bytes it stands for are saved
// in bench/out/fuzz/. --known lets a run go past a bug already reported (see harness.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runTarget, type RunReport } from '../../test/fuzz/harness.ts';
import { TARGETS, targetNamed } from '../../test/fuzz/targets/index.ts';

const { values, positionals } = parseArgs({ options: { path: { type: 'string' }, known: { type: 'string' }, 'shrink-seconds': { type: 'string' } }, allowPositionals: true });
const cases = Number(positionals[0] ?? 2000);
const seed = Number(positionals[1] ?? Date.now() % 1_000_000);
const only = positionals[2];
const targets = only ? [targetNamed(only)] : TARGETS;
if (targets.some((t) => t === undefined) || !Number.isInteger(cases) || !Number.isInteger(seed)) {
  console.error(`usage: npm run fuzz -- [CASES [SEED [${TARGETS.map((t) => t.name).join('|')}]]] [--path=P] [--known=REGEX]`);
  process.exit(2);
}
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'out', 'fuzz');
console.log(`fuzz: ${cases} cases per target, seed ${seed}`);
const reports: RunReport[] = [];
for (const target of targets) {
  console.log(`${target!.name}: ${target!.property}`);
  const report = await runTarget(target!, {
    cases,
    seed,
    ...(values.path ? { path: values.path } : {}),
    ...(values.known ? { known: new RegExp(values.known) } : {}),
    shrinkBudgetMs: Number(values['shrink-seconds'] ?? 300) * 1000,
    progress: (l) => console.log(`  ${l}`),
  });
  reports.push(report);
  const f = report.failure;
  if (f) {
    await mkdir(out, { recursive: true });
    const file = join(out, `${report.target}-${f.seed}.bin`);
    if (f.rendered) await writeFile(file, f.rendered);
    console.log(`  FAILED after ${report.cases} cases (${f.shrinks} shrinks): ${f.error.split('\n')[0]}`);
    console.log(`  counterexample: ${f.counterexample}`);
    if (f.rendered) console.log(`  its bytes: ${file} (${f.rendered.length} bytes)`);
    console.log(`  replay: npm run fuzz -- 1 ${f.seed} ${report.target} --path=${f.path}`);
    console.log(`  error:\n    ${f.error.split('\n').slice(0, 30).join('\n    ')}`);
  }
  for (const p of report.problems) console.log(`  PROBLEM: ${p.split('\n').slice(0, 10).join('\n    ')}`);
}
console.log('\n| target | cases | seconds | cases/s | known | result |');
console.log('|---|---:|---:|---:|---:|---|');
for (const r of reports) console.log(`| ${r.target} | ${r.cases} | ${r.seconds.toFixed(1)} | ${r.casesPerSecond} | ${r.known} | ${r.failure ? 'FAILED' : r.problems.length > 0 ? 'PROBLEMS' : 'ok'} |`);
if (reports.some((r) => r.failure || r.problems.length > 0)) process.exitCode = 1;
