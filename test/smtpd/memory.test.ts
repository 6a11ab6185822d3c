// No whole message in memory: a 50 MiB message is accepted and delivered while the firmware's RSS
// grows by less than 16 MiB.
import t from 'tap';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, startChild, BASE_SETTINGS } from '../support/firmware.ts';
import { run } from '../support/clients.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';

const SEND = `
import smtplib, sys
line = b'0123456789' * 7 + b'\\r\\n'
body = b'Subject: big\\r\\n\\r\\n' + line * (int(float(sys.argv[2]) * 1024 * 1024) // len(line))
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), source_address=('127.0.0.2', 0), timeout=120)
s.sendmail('sender@outside.example', ['alice@yubin.test'], body)
s.quit()
print('sent', len(body))
`;

t.test('a 50 MiB message is accepted and delivered while RSS grows by less than 16 MiB', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'smtp.maxSize': 64 * 1024 * 1024 }, [{ name: 'alice', password: 'alice-password-1' }]);
  const fw = await startChild(dataDir);
  t.teardown(() => fw.child.kill('SIGKILL'));
  const rss = async () => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${fw.child.pid}/status`, 'utf8'))![1]) * 1024;
  const send = (mib: number) => run('python3', ['-c', SEND, String(fw.ports.smtp), String(mib)], { timeoutMs: 180_000 });

  // Warm up with one small message, so lazily loaded code is part of the baseline.
  const warm = await send(0.01);
  t.equal(warm.code, 0, warm.stderr + fw.stderr());
  await new Promise((r) => setTimeout(r, 500));
  const baseline = await rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    rss().then((v) => (peak = Math.max(peak, v)), () => undefined);
  }, 10);
  const result = await send(50);
  t.equal(result.code, 0, result.stderr + fw.stderr());
  const dir = join(maildirOf(dataDir, 'alice'), 'new');
  const deadline = Date.now() + 60_000;
  let sizes: number[] = [];
  while (Date.now() < deadline) {
    sizes = await Promise.all((await readdir(dir)).map(async (f) => (await stat(join(dir, f))).size));
    if (sizes.some((s) => s > 50 * 1024 * 1024)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  clearInterval(sampler);
  const growth = peak - baseline;
  t.ok(sizes.some((s) => s > 50 * 1024 * 1024), 'the 50 MiB message is in the mailbox');
  t.comment(`RSS baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, peak ${(peak / 2 ** 20).toFixed(1)} MiB, growth ${(growth / 2 ** 20).toFixed(1)} MiB`);
  t.ok(growth < 16 * 1024 * 1024, `RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB (< 16 MiB)`);
});
