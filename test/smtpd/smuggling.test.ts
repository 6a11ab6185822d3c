// SMTP smuggling: a lone CR or LF next to a dot must never end DATA or start a second message.
// Yubin refuses any message with a bare CR or LF (550 5.6.0) and only <CRLF>.<CRLF> ends DATA.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startInProcess } from '../support/firmware.ts';
import { RawSmtp } from '../support/clients.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';

const fw = await startInProcess(t, {}, [{ name: 'alice', password: 'alice-password-1' }, { name: 'bob', password: 'bob-password-1' }]);
const port = fw.smtp.ports().mta!;

const sequences: Record<string, string> = {
  'LF.LF': '\n.\n',
  'CR.CR': '\r.\r',
  'CRLF.LF': '\r\n.\n',
  'LF.CRLF': '\n.\r\n',
  'CR.CRLF': '\r.\r\n',
  'LF.CR': '\n.\r',
};

async function count(user: string): Promise<number> {
  return (await readdir(join(maildirOf(fw.ctx.dataDir, user), 'new')).catch(() => [])).length;
}

for (const [name, seq] of Object.entries(sequences)) {
  t.test(`${name} inside DATA neither ends it nor injects a message`, async (t) => {
    const before = { alice: await count('alice'), bob: await count('bob') };
    const c = await RawSmtp.open(port, '127.0.0.2');
    t.match(await c.reply(), /^220 /);
    t.match(await c.command('EHLO outside.example'), /^250/);
    t.match(await c.command('MAIL FROM:<sender@outside.example>'), /^250 /);
    t.match(await c.command('RCPT TO:<alice@yubin.test>'), /^250 /);
    t.match(await c.command('DATA'), /^354 /);
    // Everything up to the real terminator is one DATA payload, whatever the server's TCP reads.
    c.send(
      'From: sender@outside.example\r\nSubject: first\r\n\r\nbody' + seq +
        'MAIL FROM:<spoof@yubin.test>\r\nRCPT TO:<bob@yubin.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n',
    );
    // The only reply is the one to the whole DATA: a refusal naming the bare line end.
    t.match(await c.reply(), /^550 5\.6\.0 Message refused: bare (CR|LF) in DATA/, `one refusal for ${name}`);
    t.match(await c.command('NOOP'), /^250 /, 'session still in step: NOOP answered, nothing queued behind');
    t.match(await c.command('QUIT'), /^221 /);
    c.close();
    await fw.qmgr.whenIdle();
    t.equal(await count('bob'), before.bob, 'no smuggled message for bob');
    t.equal(await count('alice'), before.alice, 'nothing delivered to alice either');
  });
}

t.test('a clean message with CRLF lines and a dot-stuffed line is accepted whole', async (t) => {
  const c = await RawSmtp.open(port, '127.0.0.2');
  await c.reply();
  await c.command('EHLO outside.example');
  await c.command('MAIL FROM:<sender@outside.example>');
  await c.command('RCPT TO:<bob@yubin.test>');
  t.match(await c.command('DATA'), /^354 /);
  c.send('Subject: clean\r\n\r\nline\r\n..leading dot\r\n.\r\n');
  t.match(await c.reply(), /^250 2\.0\.0 Ok: queued as /);
  await c.command('QUIT');
  c.close();
  await fw.qmgr.whenIdle();
  t.equal(await count('bob'), 1);
});
