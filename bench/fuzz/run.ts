// npm run fuzz [-- CASES [SEED]]: the long fuzz run (10^5 cases by default) against a Yubin child.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFuzz } from './fuzz.ts';

const cases = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? Date.now() % 1_000_000);
const only = process.argv[4] as 'smtp' | 'pop3' | 'console' | undefined;
const workDir = await mkdtemp(join(tmpdir(), 'yubin-fuzz-'));
console.log(`fuzz: ${cases} cases, seed ${seed}`);
try {
  const report = await runFuzz({ cases, seed, workDir, concurrency: 24, ...(only ? { only } : {}), progress: (l) => console.log(l) });
  console.log(`| cases | SMTP | POP3 | console | seconds | cases/s | RSS start | RSS peak | RSS end |`);
  console.log(`|---|---|---|---|---|---|---|---|---|`);
  const mib = (k: number) => `${(k / 1024).toFixed(1)} MiB`;
  console.log(`| ${cases} | ${report.cases.smtp} | ${report.cases.pop3} | ${report.cases.console} | ${report.seconds.toFixed(1)} | ${report.casesPerSecond} | ${mib(report.rss.start)} | ${mib(report.rss.peak)} | ${mib(report.rss.end)} |`);
  if (report.problems.length > 0) {
    console.log(`PROBLEMS (replay with seed ${seed}):\n${report.problems.join('\n')}`);
    process.exitCode = 1;
  } else console.log('no crash, no unhandled rejection, still serving');
} finally {
  await rm(workDir, { recursive: true, force: true });
}
