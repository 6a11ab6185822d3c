// The short fuzz run in the suite (npm run fuzz is the long one): a seeded run of each target of
// test/fuzz (run long by npm run fuzz: bench/fuzz/run.ts), the MIME inspection and its stages, the address parser and relay decision, the
// console language, and SMTP and POP3 sessions against a firmware child. No crash, no unhandled
// rejection, no relay, well-formed replies, bounded RSS, still serving afterwards.
import t from 'tap';
import { runTarget } from '../fuzz/harness.ts';
import { TARGETS } from '../fuzz/targets/index.ts';

const SEED = Number(process.env.YUBIN_FUZZ_SEED ?? 20261203);
/** Cases per target here: a few seconds each on the 2-core board-sized CI machine. */
const CASES: Record<string, number> = { address: 5000, mime: 150, console: 100, smtp: 50, pop3: 25 };
const SCALE = Number(process.env.YUBIN_FUZZ_SCALE ?? 1);

for (const target of TARGETS) {
  const cases = Math.max(1, Math.round((CASES[target.name] ?? 50) * SCALE));
  t.test(`fuzz ${target.name}: ${target.property}`, async (t) => {
    const report = await runTarget(target, { cases, seed: SEED, shrinkBudgetMs: 20_000 });
    t.comment(`${report.cases} cases in ${report.seconds.toFixed(1)} s (${report.casesPerSecond}/s), seed ${SEED}`);
    const f = report.failure;
    t.ok(f === null, f ? `${f.error.split('\n')[0]}\ncounterexample: ${f.counterexample}\nreplay: npm run fuzz -- 1 ${f.seed} ${target.name} --path=${f.path}\n${f.error.slice(0, 1500)}` : 'no failing case');
    t.same(report.problems, [], 'still serving, bounded memory, nothing left unhandled');
  });
}
