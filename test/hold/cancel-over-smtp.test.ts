// Cancelling a held message the way a user does it: by mailing the cancel address from the notice,
// over SMTP, to the firmware as it runs (src/policy/rcpt.ts → src/hold/). The held message is
// gone from the queue; a forged address is refused at RCPT and cancels nothing.
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startInProcess } from '../support/firmware.ts';
import { RawSmtp } from '../support/clients.ts';
import { sendMessage } from '../faults/fixtures/mail.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';

t.test('mailing the cancel address over SMTP cancels the held message', async (t) => {
  const fw = await startInProcess(t, { hostname: 'yubin.office.test', domains: ['office.test'], 'hold.delaySeconds': 600, 'smtp.greetingDelay': 0 }, [
    { name: 'alice', password: 'alice-password-1', addresses: ['alice@office.test'] },
  ]);
  const port = fw.ports().smtp!;
  const reply = await sendMessage({ port, local: '127.0.0.1', from: 'alice@office.test', to: 'bob@dest.test', message: 'Subject: to the wrong bob\r\n\r\noops\r\n' });
  const id = /queued as (\S+)/.exec(reply)?.[1];
  t.ok(id, `held message queued (${reply.trim()})`);

  const inbox = join(maildirOf(fw.ctx.dataDir, 'alice'), 'new');
  let notice = '';
  for (let i = 0; i < 100 && !notice; i++) {
    for (const f of await readdir(inbox).catch(() => [])) notice = await readFile(join(inbox, f), 'utf8');
    if (!notice) await new Promise((r) => setTimeout(r, 50));
  }
  const address = /(cancel\+\S+@yubin\.office\.test)/.exec(notice)?.[1];
  t.ok(address, `the notice names a cancel address (${address})`);
  const queued = async () => (await readdir(join(fw.ctx.dataDir, 'spool', 'queue'))).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  t.ok((await queued()).includes(id!), 'held in the queue');

  const forged = address!.replace(/\+([0-9a-f]{20})@/, (_m, tok: string) => `+${tok.replace(/^./, tok[0] === 'a' ? 'b' : 'a')}@`);
  const s = await RawSmtp.open(port, '127.0.0.1');
  t.teardown(() => s.close());
  await s.reply();
  await s.command('EHLO pc.office.test');
  await s.command('MAIL FROM:<alice@office.test>');
  t.match(await s.command(`RCPT TO:<${forged}>`), /^550 5\.7\.1 .*does not match/, 'a forged cancel address is refused');
  // The reply says what happened, and no message is accepted for the cancel address (issue 19).
  t.match(await s.command(`RCPT TO:<${address}>`), new RegExp(`^250 2\\.0\\.0 cancelled: message ${id} will not be sent to bob@dest\\.test\r\n$`), 'the RCPT answer names the cancelled message');
  t.match(await s.command('DATA'), /^503 /, 'no recipient was added: there is no message to send');
  t.notOk((await queued()).includes(id!), 'the held message is gone from the queue');
});
