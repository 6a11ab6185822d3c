// One message must never stop the board. Each class of MIME input that used to end the process
// (a header block of 64-256 KiB, a part header over 64 KiB, more than 500 parts: mailsplit's
// EMAXLEN as an unhandled rejection) gets a permanent reply naming the limit, on the wire from an
// outside address, and the firmware (a child process, as on the board) stays up for the next one.
import t from 'tap';
import { tempDir, seed, startChild, BASE_SETTINGS, type ChildFirmware } from '../support/firmware.ts';
import { RawSmtp } from '../support/clients.ts';

const OUTSIDE = '127.0.0.9';

function multipart(parts: number, partHeader = ''): string {
  const b = 'b0undary';
  let body = `From: a@outside.example\r\nTo: alice@yubin.test\r\nSubject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${b}"\r\n\r\n`;
  for (let i = 0; i < parts; i++) body += `--${b}\r\nContent-Type: text/plain${partHeader}\r\n\r\npart ${i} ${'x'.repeat(120)}\r\n`;
  return body + `--${b}--\r\n`;
}

function nested(levels: number): string {
  let head = 'From: a@outside.example\r\nTo: alice@yubin.test\r\nSubject: deep\r\nMIME-Version: 1.0\r\n';
  let body = '';
  let tail = '';
  for (let i = 0; i < levels; i++) {
    body += `${i === 0 ? head : `--b${i - 1}\r\n`}Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n`;
    tail = `--b${i}--\r\n` + tail;
  }
  return body + `--b${levels - 1}\r\nContent-Type: text/plain\r\n\r\nthe bottom\r\n` + tail;
}

const folded = (name: string, bytes: number) => `${name}: ${'v'.repeat(70)}` + `\r\n ${'w'.repeat(76)}`.repeat(Math.ceil(bytes / 79));

t.test('MIME limits: specific permanent replies, and the process survives each', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'smtp.greetingDelay': 0, 'senderauth.enabled': false }, [
    { name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] },
  ]);
  const fw: ChildFirmware = await startChild(dataDir);
  t.teardown(() => fw.child.kill('SIGKILL'));
  let exited = false;
  void fw.exited.then(() => (exited = true));

  const send = async (message: string, from = OUTSIDE): Promise<string> => {
    const s = await RawSmtp.open(fw.ports.smtp!, from);
    try {
      await s.reply();
      await s.command('EHLO client.example');
      await s.command('MAIL FROM:<a@outside.example>');
      await s.command('RCPT TO:<alice@yubin.test>');
      await s.command('DATA');
      s.send(message.replace(/^\./gm, '..') + '.\r\n');
      return await s.reply(30_000);
    } finally {
      s.close();
    }
  };
  const alive = async (t: { notOk(v: unknown, m: string): void; match(a: unknown, b: RegExp, m: string): void }) => {
    await new Promise((r) => setTimeout(r, 200));
    t.notOk(exited, `firmware still running${exited ? `: ${fw.stderr()}` : ''}`);
    const s = await RawSmtp.open(fw.ports.smtp!, OUTSIDE);
    t.match(await s.reply(), /^220 /, 'a new session is greeted');
    s.close();
  };

  const cases: Array<[string, string, RegExp, string?]> = [
    ['one X-Long: header of 100,000 octets (the 64-256 KiB block that ended the process)', `X-Long: ${'x'.repeat(100_000)}\r\nSubject: long\r\n\r\nbody\r\n`, /^250 /],
    ['a top header block over 256 KiB', `${folded('X-Big', 300 * 1024)}\r\nSubject: big\r\n\r\nbody\r\n`, /^552 5\.3\.4 .*header block is larger than 256 KiB \(mime\.maxHeaderBytes\)/],
    ['a MIME part header over 64 KiB', multipart(2, `\r\n${folded('X-Part', 100 * 1024)}`), /^552 5\.3\.4 .*header of MIME part .*larger than 64 KiB \(mime\.maxPartHeaderBytes\)/],
    ['a MIME part header of 1 MiB', multipart(2, `\r\n${folded('X-Part', 1024 * 1024)}`), /^552 5\.3\.4 .*mime\.maxPartHeaderBytes/],
    ['1,001 MIME parts in a message over 64 KiB', multipart(1001), /^554 5\.6\.0 .*more than 1000 MIME parts \(mime\.maxParts\)/],
    ['600 MIME parts (the 500 that ended the process) are within the limit', multipart(600), /^250 /],
    ['multipart nested 60 deep', nested(60), /^554 5\.6\.0 .*nested deeper than 50 levels \(mime\.maxDepth\)/],
    ['a header block over 64 KiB from a trusted client', `X-Long: ${'x'.repeat(100_000)}\r\nSubject: long\r\n\r\nbody\r\n`, /^250 /, '127.0.0.1'],
    ['1,001 parts from a trusted client', multipart(1001), /^554 5\.6\.0 /, '127.0.0.1'],
  ];
  for (const [name, message, reply, from] of cases) {
    await t.test(name, async (t) => {
      t.match(await send(message, from), reply);
      await alive(t);
    });
  }
});

t.test('mime.onLimit accept: a message beyond a structure limit is delivered uninspected, marked', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'smtp.greetingDelay': 0, 'senderauth.enabled': false, 'mime.onLimit': 'accept', 'mime.maxParts': 10 }, [
    { name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] },
  ]);
  const fw = await startChild(dataDir);
  t.teardown(() => fw.child.kill('SIGKILL'));
  const s = await RawSmtp.open(fw.ports.smtp!, OUTSIDE);
  t.teardown(() => s.close());
  await s.reply();
  await s.command('EHLO client.example');
  await s.command('MAIL FROM:<a@outside.example>');
  await s.command('RCPT TO:<alice@yubin.test>');
  await s.command('DATA');
  s.send(multipart(20) + '.\r\n');
  t.match(await s.reply(), /^250 /, 'accepted');
  const { readdir, readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { maildirOf } = await import('../../src/maildir/maildir.ts');
  const dir = join(maildirOf(dataDir, 'alice'), 'new');
  let files: string[] = [];
  for (let i = 0; i < 100 && files.length === 0; i++) {
    files = await readdir(dir).catch(() => []);
    if (files.length === 0) await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(files.length, 1, 'delivered');
  t.match(await readFile(join(dir, files[0]!), 'latin1'), /^X-Yubin-Inspection: not inspected \(more than 10 MIME parts \(mime\.maxParts\)\)/m);
  s.send('QUIT\r\n');
});
