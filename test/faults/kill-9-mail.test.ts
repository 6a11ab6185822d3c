// kill -9 at random moments, repeated: while messages stream in and while the queue is being
// delivered after a restart. Afterwards every acknowledged message is in each recipient's mailbox
// exactly once.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, startChild, BASE_SETTINGS, type ChildFirmware } from '../support/firmware.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';
import { sendMessage, numberedMessage, seqsIn, until, duplicates, sleep } from './fixtures/mail.ts';

const ROUNDS = 4;
const USERS = ['alice', 'bob', 'carol'];
// Seeded so a failing round can be replayed (YUBIN_FAULT_SEED=n).
let state = Number(process.env.YUBIN_FAULT_SEED ?? Date.now() % 100_000);
t.comment(`random seed ${state}`);
const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const between = (lo: number, hi: number) => Math.floor(lo + random() * (hi - lo));

async function kill(fw: ChildFirmware): Promise<void> {
  fw.child.kill('SIGKILL');
  await fw.exited;
}

t.test(`kill -9 during ingest and during delivery, ${ROUNDS} rounds: no acknowledged message lost or duplicated`, async (t) => {
  const dataDir = await tempDir(t);
  await seed(
    dataDir,
    { ...BASE_SETTINGS, 'senderauth.enabled': false, 'smtp.greetingDelay': 0, 'smtp.maxConnectionsPerClient': 50, 'queue.concurrency': 1 },
    USERS.map((name) => ({ name, password: `${name}-password-1`, addresses: [`${name}@yubin.test`] })),
  );
  const acknowledged: number[] = [];
  let current: ChildFirmware | undefined;
  t.teardown(() => current?.child.kill('SIGKILL'));
  for (let round = 0; round < ROUNDS; round++) {
    // One delivery at a time lets a backlog build, so that the kill in recovery finds one.
    // Ingest: 8 connections send 40 messages to three mailboxes; kill somewhere in the middle.
    current = await startChild(dataDir);
    const port = current.ports.smtp!;
    const seqs = Array.from({ length: 40 }, (_, i) => round * 100 + i);
    let firstAck: () => void = () => undefined;
    const acked = new Promise<void>((r) => (firstAck = r));
    const sending = Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        for (const seq of seqs.filter((_, i) => i % 8 === k)) {
          const reply = await sendOne(port, seq).catch(() => '');
          if (reply.startsWith('250')) {
            acknowledged.push(seq);
            firstAck();
          }
        }
      }),
    );
    // Even rounds count from the start (a kill may come before any 250: the first message after
    // start is slow on a loaded machine); odd rounds from the first 250, so that some are acknowledged.
    const afterAck = round % 2 === 1;
    if (afterAck) await Promise.race([acked, sending]);
    const ingestKill = afterAck ? between(0, 400) : between(100, 1200);
    await sleep(ingestKill);
    await kill(current);
    await sending;
    // Delivery: the restarted firmware recovers the queue and delivers it; kill that too.
    current = await startChild(dataDir);
    const deliveryKill = between(0, 400);
    await sleep(deliveryKill);
    await kill(current);
    const left = (await readdir(join(dataDir, 'spool/queue'))).filter((f) => f.endsWith('.json')).length;
    t.comment(`round ${round}: killed ${ingestKill} ms ${afterAck ? 'after the first 250' : 'into ingest'} and ${deliveryKill} ms into recovery (${left} entries still queued); ${acknowledged.length} acknowledged so far`);
  }
  current = await startChild(dataDir);
  await until('the queue to drain', async () => (await readdir(join(dataDir, 'spool/queue'))).filter((f) => f.endsWith('.json')).length === 0, 30_000);
  t.ok(acknowledged.length > 0, `${acknowledged.length} of ${ROUNDS * 40} messages were acknowledged`);
  for (const user of USERS) {
    const got = await seqsIn(maildirOf(dataDir, user));
    t.same(acknowledged.filter((n) => !got.includes(n)), [], `${user}: every acknowledged message is in the mailbox`);
    t.same(duplicates(got), [], `${user}: none twice`);
  }
  t.same(await readdir(join(dataDir, 'spool/tmp')), [], 'no partial message left in the spool');
  await kill(current);
});

function sendOne(port: number, seq: number): Promise<string> {
  return sendMessage({ port, to: USERS.map((u) => `${u}@yubin.test`), message: numberedMessage(seq, 20_000), timeoutMs: 10_000 });
}
