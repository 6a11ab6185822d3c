// The last-resort net (src/guard/): an error that escapes inside one client session ends that
// session only. Faults are planted by test/abuse/fixtures/faulty.ts in a child firmware run as on
// the board: the faulty session hears 451 4.3.0 (POP3: -ERR [SYS/TEMP]) and is closed, nothing it
// sent is queued, the error is logged with the session id and raised as an alert, and a session
// open beside it carries on.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import { tempDir, seed, startChild, BASE_SETTINGS, repo } from '../support/firmware.ts';
import { RawSmtp } from '../support/clients.ts';
import { NODE_FLAGS, RUNTIME_ENV } from '../../firmware/node-flags.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';

t.test('an error escaping one session ends that session alone', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'smtp.greetingDelay': 0, 'senderauth.enabled': false, 'pop3.allowCleartext': true }, [
    { name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] },
    { name: 'faulty', password: 'faulty-password-1' },
  ]);
  const fw = await startChild(dataDir, [], 20_000, { runtime: { flags: [...NODE_FLAGS, '--import', join(repo, 'test/abuse/fixtures/faulty.ts')], env: RUNTIME_ENV } });
  t.teardown(() => fw.child.kill('SIGKILL'));
  let exited = false;
  void fw.exited.then(() => (exited = true));

  const open = async () => {
    const s = await RawSmtp.open(fw.ports.smtp!, '127.0.0.9');
    t.teardown(() => s.close());
    t.match(await s.reply(), /^220 /);
    t.match(await s.command('EHLO client.example'), /^250/);
    return s;
  };
  const transaction = async (s: RawSmtp, subject: string, extra = '') => {
    t.match(await s.command('MAIL FROM:<a@outside.example>'), /^250 /);
    t.match(await s.command('RCPT TO:<alice@yubin.test>'), /^250 /);
    t.match(await s.command('DATA'), /^354 /);
    s.send(`Subject: ${subject}\r\n${extra}\r\nbody\r\n.\r\n`);
    return s.reply(10_000);
  };

  const bystander = await open();
  for (const fault of ['rejection', 'exception']) {
    await t.test(`a planted ${fault}`, async (t) => {
      const faulty = await open();
      t.match(await transaction(faulty, `fault ${fault}`, `X-Fault: ${fault}\r\n`), /^451 4\.3\.0 Local error in processing; this session is closed/);
      t.equal(await faulty.reply(3000).catch(() => ''), '', 'the faulty session is closed');
      t.notOk(exited, 'the firmware is still running');
      t.match(await transaction(bystander, `bystander after ${fault}`), /^250 /, 'the session beside it still sends mail');
      t.match(fw.stderr(), new RegExp(`msg="smtp session ended by the guard" session=\\S+ client=127\\.0\\.0\\.9 error="Error: planted fault`), 'logged with the session id');
    });
  }

  await t.test('a planted exception in a POP3 session', async (t) => {
    const p = connect({ port: fw.ports.pop3!, host: '127.0.0.1', localAddress: '127.0.0.9' });
    t.teardown(() => p.destroy());
    let got = '';
    p.on('data', (d: Buffer) => (got += d.toString('latin1')));
    const closed = new Promise<void>((r) => p.once('close', () => r()));
    const until = async (re: RegExp) => {
      const end = Date.now() + 5000;
      while (!re.test(got) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    };
    await until(/^\+OK/);
    p.write('USER faulty\r\nPASS faulty-password-1\r\n');
    await until(/-ERR \[SYS\/TEMP\] Local error/);
    t.match(got, /-ERR \[SYS\/TEMP\] Local error in processing; this session is closed/);
    await closed;
    t.notOk(exited, 'the firmware is still running');
    t.match(fw.stderr(), /msg="pop3 session ended by the guard" session=pop3-\S+ client=127\.0\.0\.9/);
  });

  await t.test('alerts raised, and nothing of the faulty sessions was delivered', async (t) => {
    t.match(fw.stderr(), /alert \d+: internal error in a smtp session/);
    t.match(fw.stderr(), /alert \d+: internal error in a pop3 session/);
    const dir = join(maildirOf(dataDir, 'alice'), 'new');
    let files: string[] = [];
    for (let i = 0; i < 100 && files.length < 3; i++) {
      files = await readdir(dir).catch(() => []);
      await new Promise((r) => setTimeout(r, 50));
    }
    const { readFile } = await import('node:fs/promises');
    const subjects = await Promise.all(files.map(async (f) => /^Subject: (.*)$/m.exec(await readFile(join(dir, f), 'latin1'))?.[1]));
    t.same(subjects.sort(), ['bystander after exception', 'bystander after rejection'], 'the two bystander messages only');
    t.same((await readdir(join(dataDir, 'spool', 'tmp'))).length, 0, 'nothing left in the spool');
  });
});
