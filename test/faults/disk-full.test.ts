// Disk full: the data folder is an 8 MiB tmpfs in the firmware's own mount namespace. A message
// that cannot be spooled gets 452 4.3.1 and leaves nothing behind; one whose mailbox copy cannot be
// written stays queued; everything flows again once space returns, each message exactly once.
import t from 'tap';
import { mkdir, open, readdir, readFile, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, startChild, BASE_SETTINGS, type ChildFirmware } from '../support/firmware.ts';
import { sendMessage, numberedMessage, seqsIn, until, duplicates } from './fixtures/mail.ts';

/** A message whose body is base64: decoded it takes 3/4 of its spooled size. */
function base64Message(seq: number, decodedBytes: number): string {
  const b64 = Buffer.alloc(decodedBytes, `body of ${seq} `).toString('base64').replace(/.{76}/g, '$&\r\n');
  return `Subject: fault ${seq}\r\nX-Seq: ${seq}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n`;
}

const PAGE = 4096;

/** Fill the file system with one file; returns a function that frees `bytes` (whole pages) of it. */
async function fill(path: string): Promise<{ free(bytes: number): Promise<void>; remove(): Promise<void> }> {
  const file = await open(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let size = 0;
  for (;;) {
    try {
      const { bytesWritten } = await file.write(chunk, 0, chunk.length, size);
      size += bytesWritten;
      if (bytesWritten < chunk.length) break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      break;
    }
  }
  // Top up page by page: the 64 KiB loop stops with up to 60 KiB still free.
  const page = Buffer.alloc(PAGE, 0x62);
  for (;;) {
    try {
      const { bytesWritten } = await file.write(page, 0, PAGE, size);
      size += bytesWritten;
      if (bytesWritten < PAGE) break;
    } catch {
      break;
    }
  }
  size = Math.floor(size / PAGE) * PAGE;
  await file.truncate(size);
  return {
    async free(bytes) {
      size -= Math.ceil(bytes / PAGE) * PAGE;
      await file.truncate(size);
    },
    async remove() {
      await file.close();
      await unlink(path);
    },
  };
}

t.test('disk full: 452 4.3.1, nothing acknowledged lost, service resumes when space returns', async (t) => {
  const base = await tempDir(t);
  const dataDir = join(base, 'data');
  const seedDir = join(base, 'seed');
  await mkdir(dataDir);
  await mkdir(seedDir);
  await seed(seedDir, { ...BASE_SETTINGS, 'senderauth.enabled': false, 'smtp.greetingDelay': 0 }, [{ name: 'alice', password: 'alice-password-1' }]);
  // The tmpfs exists only in the child's private mount namespace: nothing to unmount afterwards.
  const wrapper = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=8m tmpfs "$0" && cp -a "$1"/. "$0"/ && shift && exec "$@"', dataDir, seedDir];
  const fw: ChildFirmware = await startChild(dataDir, [], 30_000, { wrapper });
  t.teardown(() => fw.child.kill('SIGKILL'));
  // The namespace's view of the data folder, from outside it.
  const inside = `/proc/${fw.child.pid}/root${dataDir}`;
  const spoolFiles = async () => [...(await readdir(join(inside, 'spool/tmp'))), ...(await readdir(join(inside, 'spool/queue')))];
  const maildir = join(inside, 'mail/alice');
  const port = fw.ports.smtp!;

  const filler = await fill(join(inside, 'filler'));
  const bigOne = base64Message(4, 30_000);

  await t.test('a message that cannot be spooled is refused with 452 4.3.1 and leaves no file', async (t) => {
    t.match(await sendMessage({ port, message: numberedMessage(1, 10_000) }), /^452 4\.3\.1 /, 'small message: 452 4.3.1');
    t.match(await sendMessage({ port, message: numberedMessage(2, 300_000) }), /^452 4\.3\.1 /, 'message larger than the stream buffers: 452 4.3.1');
    t.same(await spoolFiles(), [], 'no partial file in the spool');
  });

  await t.test('space for the message but not its queue entry: 452 4.3.1 and the message file is removed', async (t) => {
    // 9,000 bytes of body + our Received header fit in 3 pages; the entry's JSON needs a 4th.
    await filler.free(3 * PAGE);
    t.match(await sendMessage({ port, message: numberedMessage(3, 9_000) }), /^452 4\.3\.1 /);
    t.same(await spoolFiles(), [], 'no message file without an entry, no temp file of the entry');
  });

  await t.test('space for the spool but not for the mailbox copy: accepted, stays queued, not bounced', async (t) => {
    // Free a page at a time until the message is accepted: then there is no room left for a second
    // copy (the attachment inspection's scratch copy of a base64 body is 3/4 of its size, and gone).
    let reply = '';
    for (let pages = 0; pages < 40 && !reply.startsWith('250'); pages++) {
      await filler.free(PAGE);
      reply = await sendMessage({ port, message: bigOne });
    }
    t.match(reply, /^250 /, 'accepted once the spool had room');
    await until('the failed delivery attempt in the log', () => /delivery attempt failed[^\n]*ENOSPC/.test(fw.stderr()), 10_000);
    const queued = (await readdir(join(inside, 'spool/queue'))).filter((f) => f.endsWith('.json'));
    t.equal(queued.length, 1, 'the message waits in the queue');
    t.same(await seqsIn(maildir), [], 'no partial copy in the mailbox');
    t.same((await readdir(join(maildir, 'tmp')).catch(() => [])), [], 'no leftover in the Maildir tmp/');
  });

  await t.test('space returns: new mail is accepted and the queued message is delivered once', async (t) => {
    await filler.remove();
    t.match(await sendMessage({ port, message: numberedMessage(5, 9_000) }), /^250 /, 'accepted again');
    // The deferred entry waits for its retry; the admin's flush (yubin queue flush) brings it forward.
    await writeFile(join(inside, 'spool/flush-request'), '');
    await until('both messages in the mailbox', async () => (await seqsIn(maildir)).length >= 2, 20_000);
    const seqs = await seqsIn(maildir);
    t.same(seqs, [4, 5], 'the acknowledged messages, each once; the refused ones never');
    t.same(duplicates(seqs), []);
    const copies = await Promise.all((await readdir(join(maildir, 'new'))).map((f) => readFile(join(maildir, 'new', f), 'latin1')));
    t.ok(copies.some((c) => c.endsWith(bigOne)), 'the message delivered after the full disk is whole, not cut where space ran out');
    await until('queue empty', async () => (await spoolFiles()).length === 0);
  });
  t.notMatch(fw.stderr(), /Unhandled|exit code/, 'the firmware stayed up without unhandled errors');
});
