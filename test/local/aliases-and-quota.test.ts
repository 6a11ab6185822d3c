// Local delivery: aliases fan out to mailboxes, sub-addresses reach their user, and quotas answer
// 452 4.2.2 at RCPT when a mailbox is full.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startInProcess } from '../support/firmware.ts';
import { RawSmtp } from '../support/clients.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';

const fw = await startInProcess(t, {}, [
  { name: 'alice', password: 'alice-password-1' },
  { name: 'bob', password: 'bob-password-1' },
  { name: 'carol', password: 'carol-password-1', quota: 4096 },
]);
await fw.ctx.store.update((db) => {
  db.aliases['sales'] = ['alice', 'bob'];
  db.aliases['postmaster'] = ['alice'];
});
const port = fw.smtp.ports().mta!;
const inbox = async (user: string) => (await readdir(join(maildirOf(fw.ctx.dataDir, user), 'new')).catch(() => [])).length;

async function send(to: string, body = 'hello'): Promise<string[]> {
  const c = await RawSmtp.open(port, '127.0.0.2');
  await c.reply();
  await c.command('EHLO outside.example');
  await c.command('MAIL FROM:<sender@outside.example>');
  const rcpt = await c.command(`RCPT TO:<${to}>`);
  if (!rcpt.startsWith('250')) {
    c.close();
    return [rcpt];
  }
  await c.command('DATA');
  c.send(`Subject: test\r\n\r\n${body}\r\n.\r\n`);
  const done = await c.reply();
  c.close();
  await fw.qmgr.whenIdle();
  return [rcpt, done];
}

t.test('an alias delivers one copy to each of its users', async (t) => {
  const [, done] = await send('sales@yubin.test');
  t.match(done, /^250 2\.0\.0 Ok: queued/);
  t.equal(await inbox('alice'), 1);
  t.equal(await inbox('bob'), 1);
});

t.test('a sub-address (alice+invoices) reaches alice', async (t) => {
  await send('alice+invoices@yubin.test');
  t.equal(await inbox('alice'), 2);
});

t.test('quota: a message larger than the quota gets 552 5.2.2 at DATA', async (t) => {
  const [rcpt, done] = await send('carol@yubin.test', 'x'.repeat(5000));
  t.match(rcpt, /^250 /);
  t.match(done, /^552 5\.2\.2 Message of \d+ bytes is larger than the recipient's mailbox quota/);
  t.equal(await inbox('carol'), 0);
});

t.test('quota: a full mailbox answers 452 4.2.2 at RCPT, and other users still get mail', async (t) => {
  // Under its quota a mailbox takes the next message even if it goes over (Dovecot's grace).
  t.match((await send('carol@yubin.test', 'y'.repeat(2500)))[1], /^250 /);
  t.match((await send('carol@yubin.test', 'z'.repeat(2500)))[1], /^250 /);
  t.equal(await inbox('carol'), 2, 'both delivered: the second took the mailbox over its quota');
  const [rcpt] = await send('carol@yubin.test');
  t.match(rcpt, /^452 4\.2\.2 <carol@yubin\.test>: mailbox full/);
  t.match((await send('bob@yubin.test'))[1], /^250 /, 'bob is not affected');
});

t.test('one copy per mailbox: the same recipient three times, in other cases, and through an alias', async (t) => {
  const before = { alice: await inbox('alice'), bob: await inbox('bob') };
  const c = await RawSmtp.open(port, '127.0.0.2');
  t.teardown(() => c.close());
  await c.reply();
  await c.command('EHLO outside.example');
  await c.command('MAIL FROM:<sender@outside.example>');
  for (const to of ['alice@yubin.test', 'alice@yubin.test', 'ALICE@Yubin.Test', 'alice+news@yubin.test', 'sales@yubin.test']) {
    t.match(await c.command(`RCPT TO:<${to}>`), /^250 /, `RCPT ${to} accepted`);
  }
  await c.command('DATA');
  c.send('Subject: duplicates\r\n\r\nonce each\r\n.\r\n');
  t.match(await c.reply(), /^250 /);
  await fw.qmgr.whenIdle();
  t.equal(await inbox('alice') - before.alice, 1, 'alice: one copy');
  t.equal(await inbox('bob') - before.bob, 1, 'bob (through sales): one copy');
});
