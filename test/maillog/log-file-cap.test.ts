// The log file under `yubin start` (npm start) stays under its cap however much mail passes:
// 10,000 messages through the running firmware, each logged (arrived, queued, delivery), with
// log.fileMaxBytes at 64 KiB and two rotations kept: the log folder never holds more than
// 3 × 64 KiB, the newest lines are whole logfmt lines, and the trace index keeps to trace.maxBytes.
import t from 'tap';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startChild, seed, tempDir, BASE_SETTINGS } from '../support/firmware.ts';
import { RawSmtp } from '../support/clients.ts';
import { parseLogfmt } from '../../src/log/logger.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';

const MESSAGES = 10_000;
const SESSIONS = 8;
const CAP = 64 * 1024;
const KEEP = 2;
const TRACE_CAP = 1024 * 1024;

t.setTimeout(600_000);

/** Send `count` messages in one session, one transaction after the other. */
async function sendMany(port: number, count: number, from: number): Promise<void> {
  const c = await RawSmtp.open(port, '127.0.0.1');
  try {
    await c.reply();
    await c.command('EHLO pc.yubin.test');
    for (let i = 0; i < count; i++) {
      const n = from + i;
      for (const [line, want] of [['MAIL FROM:<alice@yubin.test>', '250'], ['RCPT TO:<alice@yubin.test>', '250'], ['DATA', '354']] as const) {
        const reply = await c.command(line);
        if (!reply.startsWith(want)) throw new Error(`message ${n}: ${line} got ${reply}`);
      }
      const reply = await c.command(`Subject: note ${n}\r\nMessage-ID: <${n}@pc.yubin.test>\r\n\r\nnote ${n}\r\n.`);
      if (!reply.startsWith('250')) throw new Error(`message ${n}: DATA got ${reply}`);
    }
    await c.command('QUIT');
  } finally {
    c.close();
  }
}

t.test('10,000 messages: the log folder stays under (log.fileKeep + 1) × log.fileMaxBytes', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'smtp.greetingDelay': 0, 'log.fileMaxBytes': CAP, 'log.fileKeep': KEEP, 'trace.maxBytes': TRACE_CAP, 'archive.enabled': false, 'board.leds': 'off' }, [
    { name: 'alice', password: 'alice-password-1' },
  ]);
  const fw = await startChild(dataDir);
  t.teardown(async () => {
    fw.child.kill('SIGTERM');
    await fw.exited;
  });
  const started = performance.now();
  const per = MESSAGES / SESSIONS;
  await Promise.all(Array.from({ length: SESSIONS }, (_, s) => sendMany(fw.ports.smtp!, per, s * per)));
  const inbox = join(maildirOf(dataDir, 'alice'), 'new');
  for (let i = 0; i < 1200 && (await readdir(inbox)).length < MESSAGES; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal((await readdir(inbox)).length, MESSAGES, `${MESSAGES} delivered in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const logDir = join(dataDir, 'log');
  const files = (await readdir(logDir)).sort();
  t.same(files, ['yubin.log', 'yubin.log.1', 'yubin.log.2'], 'the file and its two rotations, nothing more');
  let total = 0;
  for (const f of files) {
    const { size } = await stat(join(logDir, f));
    total += size;
    t.ok(size <= CAP, `${f}: ${size} bytes, at most ${CAP}`);
  }
  t.ok(total <= (KEEP + 1) * CAP, `the folder: ${total} bytes, at most ${(KEEP + 1) * CAP}`);
  const lines = (await readFile(join(logDir, 'yubin.log'), 'utf8')).split('\n');
  t.equal(lines.pop(), '', 'the file ends with a whole line');
  t.ok(lines.every((l) => parseLogfmt(l).msg !== undefined && parseLogfmt(l).level !== undefined), 'every line is a logfmt line');
  t.ok(lines.some((l) => /msg=delivery .* status=sent /.test(l)), 'the newest delivery lines are there');
  const rotated = (await readFile(join(logDir, 'yubin.log.1'), 'utf8')).split('\n');
  t.ok(rotated.slice(0, -1).every((l) => l.startsWith('time=')), 'a rotated file holds whole lines only');

  let trace = 0;
  for (const f of await readdir(join(dataDir, 'trace'))) trace += (await stat(join(dataDir, 'trace', f))).size;
  t.ok(trace <= TRACE_CAP, `the trace index: ${trace} bytes, at most trace.maxBytes ${TRACE_CAP}`);
});
