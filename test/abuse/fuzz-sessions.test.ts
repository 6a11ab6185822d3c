// The short fuzz run in the suite (npm run fuzz is the long one): random bytes and grammar-based
// sessions against SMTP and POP3 of a Yubin child, and lines into its console. No crash, no
// unhandled rejection, bounded RSS, and a normal message is still accepted afterwards.
import t from 'tap';
import { tempDir } from '../support/firmware.ts';
import { runFuzz } from '../../bench/fuzz/fuzz.ts';

const CASES = Number(process.env.YUBIN_FUZZ_CASES ?? 1000);
const SEED = Number(process.env.YUBIN_FUZZ_SEED ?? Date.now() % 1_000_000);

t.test(`${CASES} fuzz cases on SMTP, POP3 and the console: no crash, bounded memory, still serving`, async (t) => {
  const workDir = await tempDir(t);
  const report = await runFuzz({ cases: CASES, seed: SEED, workDir, concurrency: 16 });
  t.comment(`seed ${SEED}: ${JSON.stringify(report.cases)} in ${report.seconds.toFixed(1)} s (${report.casesPerSecond}/s)`);
  t.comment(`RSS start ${(report.rss.start / 1024).toFixed(0)} MiB, peak ${(report.rss.peak / 1024).toFixed(0)} MiB, end ${(report.rss.end / 1024).toFixed(0)} MiB`);
  t.same(report.problems, [], `no crash, no unhandled rejection, still serving (replay: YUBIN_FUZZ_SEED=${SEED})`);
  // Password checks (scrypt, 16 MiB each on up to 4 pool threads) make the peak; sessions are bounded.
  t.ok(report.rss.peak < 320 * 1024, `peak RSS ${(report.rss.peak / 1024).toFixed(0)} MiB under 320 MiB`);
});
