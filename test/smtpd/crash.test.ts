// Power-cut safety: kill -9 while 50 messages stream in. Every message that got "250 queued"
// must afterwards be in a mailbox or the spool, and none twice.
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, startChild, BASE_SETTINGS, type ChildFirmware } from '../support/firmware.ts';
import { run } from '../support/clients.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';

// Python's smtplib sends 50 messages over 10 connections at once and prints "OK <n> <reply>"
// for each 250 it received.
const SENDER = `
import smtplib, sys, threading
port = int(sys.argv[1])
lock = threading.Lock()
def worker(k):
    for i in range(k * 5, k * 5 + 5):
        try:
            s = smtplib.SMTP('127.0.0.1', port, source_address=('127.0.0.2', 0), timeout=20)
            body = 'Subject: crash %d\\r\\nX-Seq: %d\\r\\n\\r\\n' % (i, i) + ('line %d\\r\\n' % i) * 2000
            s.ehlo('outside.example')
            s.mail('sender@outside.example')
            s.rcpt('alice@yubin.test')
            code, resp = s.data(body.encode())
            with lock:
                print('OK' if code == 250 else 'NO', i, resp.decode(), flush=True)
            s.quit()
        except Exception as e:
            with lock:
                print('ERR', i, type(e).__name__, flush=True)
threads = [threading.Thread(target=worker, args=(k,)) for k in range(10)]
for th in threads: th.start()
for th in threads: th.join()
`;

async function delivered(dataDir: string): Promise<number[]> {
  const dir = join(maildirOf(dataDir, 'alice'), 'new');
  const seqs: number[] = [];
  for (const f of await readdir(dir).catch(() => [])) {
    const m = /X-Seq: (\d+)/.exec(await readFile(join(dir, f), 'latin1').catch(() => ''));
    if (m) seqs.push(Number(m[1]));
  }
  return seqs;
}

// Alone (each message its own fsyncs) and with group commit (a round of fsyncs per 5 ms window).
for (const groupCommitMs of [0, 5]) t.test(`kill -9 while 50 messages stream in (spool.groupCommitMs ${groupCommitMs}): every acknowledged message is delivered once after restart`, async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'spool.groupCommitMs': groupCommitMs }, [{ name: 'alice', password: 'alice-password-1' }]);
  let fw: ChildFirmware = await startChild(dataDir);
  t.teardown(() => fw.child.kill('SIGKILL'));

  const sending = run('python3', ['-c', SENDER, String(fw.ports.smtp)], { timeoutMs: 60_000 });
  // Kill in the middle: once some messages are through and others are streaming.
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await delivered(dataDir)).length < 15) await new Promise((r) => setTimeout(r, 10));
  fw.child.kill('SIGKILL');
  await fw.exited;
  const out = await sending;
  const acknowledged = out.stdout.split('\n').filter((l) => l.startsWith('OK ')).map((l) => Number(l.split(' ')[1]));
  t.ok(acknowledged.length >= 15, `${acknowledged.length} of 50 acknowledged before the kill`);
  t.comment(`acknowledged before kill -9: ${acknowledged.length}; cut off: ${50 - acknowledged.length}`);

  // Restart on the same data folder: recovery finishes what was queued.
  fw = await startChild(dataDir);
  const settle = Date.now() + 30_000;
  let seqs: number[] = [];
  while (Date.now() < settle) {
    seqs = await delivered(dataDir);
    const queued = (await readdir(join(dataDir, 'spool', 'queue'))).filter((f) => f.endsWith('.json')).length;
    if (queued === 0 && acknowledged.every((n) => seqs.includes(n))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.same(acknowledged.filter((n) => !seqs.includes(n)), [], 'every acknowledged message was delivered after restart');
  t.same(seqs.filter((n, i) => seqs.indexOf(n) !== i), [], 'no message delivered twice');
  t.same(await readdir(join(dataDir, 'spool', 'tmp')), [], 'no partial message left in the spool');
});
