import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptedStage } from '../../src/encrypted/stage.ts';
import { attachmentStage } from '../../src/attachments/stage.ts';
import { contentContext, spooled, compose, sha256 } from '../quarantine/fixture.ts';

const run = promisify(execFile);

async function workDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-enc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Both content stages leave the file alone; the encrypted stage names what it could not read. */
async function passesUntouched(t: Test, raw: Buffer, header: RegExp): Promise<void> {
  const ctx = await contentContext(t);
  const msg = await spooled(ctx, raw);
  const before = await sha256(msg.path);
  const verdict = await encryptedStage(msg, ctx);
  t.equal(verdict.action, 'accept');
  t.notOk(verdict.action === 'accept' && verdict.replacement, 'no rewritten copy');
  t.match(verdict.action === 'accept' ? verdict.headers?.[0] : '', header);
  t.same(await attachmentStage(msg, ctx), { action: 'accept', facts: { blocked: 'none' } }, 'the attachment filter has nothing to remove');
  t.equal(await sha256(msg.path), before, 'bytes unchanged (SHA-256)');
}

t.test('an encrypted zip passes byte for byte, marked', async (t) => {
  const dir = await workDir(t);
  await writeFile(join(dir, 'salary.xlsx'), Buffer.alloc(500, 3));
  await run('zip', ['-q', '-P', 'secret', 'salary.zip', 'salary.xlsx'], { cwd: dir, timeout: 10_000 });
  const raw = await compose({ text: 'password follows', attachments: [{ filename: 'salary.zip', content: await readFile(join(dir, 'salary.zip')) }] });
  await passesUntouched(t, raw, /^X-Yubin-Encrypted: zip="salary\.zip"; content not scanned$/);
});

t.test('an S/MIME encrypted message passes byte for byte, marked', async (t) => {
  const dir = await workDir(t);
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=user@localhost', '-days', '2',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { timeout: 20_000 });
  await writeFile(join(dir, 'inner.eml'), 'Content-Type: text/plain\r\n\r\nsecret plans\r\n');
  await run('openssl', ['smime', '-encrypt', '-aes256', '-in', join(dir, 'inner.eml'), '-out', join(dir, 'out.eml'),
    '-from', 'sender@outside.example', '-to', 'user@localhost', '-subject', 'Secret', join(dir, 'cert.pem')], { timeout: 20_000 });
  const raw = Buffer.from((await readFile(join(dir, 'out.eml'), 'latin1')).replace(/\r?\n/g, '\r\n'), 'latin1');
  await passesUntouched(t, raw, /^X-Yubin-Encrypted: smime; content not scanned$/);
});

t.test('PGP/MIME and inline PGP pass byte for byte, marked', async (t) => {
  const dir = await workDir(t);
  await writeFile(join(dir, 'plain.txt'), 'secret plans');
  await run('gpg', ['--homedir', dir, '--batch', '--pinentry-mode', 'loopback', '--passphrase', 'pw', '--symmetric', '--armor', '-o', join(dir, 'c.asc'), join(dir, 'plain.txt')], { timeout: 20_000 });
  const armor = (await readFile(join(dir, 'c.asc'), 'utf8')).replace(/\r?\n/g, '\r\n');
  const pgpMime = [
    'From: sender@outside.example', 'To: user@localhost', 'Subject: pgp', 'MIME-Version: 1.0',
    'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b1"', '',
    '--b1', 'Content-Type: application/pgp-encrypted', '', 'Version: 1', '',
    '--b1', 'Content-Type: application/octet-stream; name="encrypted.asc"', '', armor,
    '--b1--', '',
  ].join('\r\n');
  await passesUntouched(t, Buffer.from(pgpMime), /^X-Yubin-Encrypted: pgp-mime; content not scanned$/);
  const inline = await compose({ text: `Here it is:\r\n${armor}` });
  await passesUntouched(t, inline, /^X-Yubin-Encrypted: pgp-inline="\(unnamed\)"; content not scanned$/);
});

t.test('an encrypted PDF passes byte for byte, marked', async (t) => {
  const dir = await workDir(t);
  await run('qpdf', ['--empty', '--encrypt', 'user', 'owner', '256', '--', join(dir, 'locked.pdf')], { timeout: 20_000 });
  await run('qpdf', ['--empty', join(dir, 'open.pdf')], { timeout: 20_000 });
  const raw = await compose({ text: 'two pdfs', attachments: [
    { filename: 'open.pdf', content: await readFile(join(dir, 'open.pdf')) },
    { filename: 'locked.pdf', content: await readFile(join(dir, 'locked.pdf')) },
  ] });
  await passesUntouched(t, raw, /^X-Yubin-Encrypted: pdf="locked\.pdf"; content not scanned$/);
});

t.test('encrypted.action=reject refuses unreadable content with 554 5.7.1', async (t) => {
  const ctx = await contentContext(t);
  await ctx.store.set('encrypted.action', 'reject');
  const msg = await spooled(ctx, Buffer.from('Subject: x\r\nContent-Type: multipart/encrypted; boundary="b"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n'));
  t.same(await encryptedStage(msg, ctx), { action: 'reject', code: 554, enhanced: '5.7.1', text: 'Message refused: encrypted content cannot be checked (pgp-mime)' });
});

t.test('a plain message gets no mark', async (t) => {
  const ctx = await contentContext(t);
  const msg = await spooled(ctx, await compose({ text: 'hello' }));
  t.same(await encryptedStage(msg, ctx), { action: 'accept' });
});
