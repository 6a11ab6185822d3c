import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachmentStage } from '../../src/attachments/stage.ts';
import { Quarantine } from '../../src/quarantine/store.ts';
import { contentContext, spooled, compose, sha256, pythonParts } from '../quarantine/fixture.ts';

const run = promisify(execFile);
// A PE file starts with "MZ"; the rest does not matter for a type check.
const program = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), Buffer.alloc(200, 0x41)]);

async function zipOf(files: Record<string, Buffer>, password?: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-zip-'));
  try {
    for (const [name, data] of Object.entries(files)) await writeFile(join(dir, name), data);
    await run('zip', ['-q', ...(password ? ['-P', password] : []), 'out.zip', ...Object.keys(files)], { cwd: dir, timeout: 10_000 });
    return await readFile(join(dir, 'out.zip'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

t.test('removes a blocked .exe, leaves a notice saying why, keeps the original in quarantine', async (t) => {
  const ctx = await contentContext(t);
  const raw = await compose({ text: 'Please run the tool.', attachments: [
    { filename: 'setup.exe', content: program },
    { filename: 'notes.txt', content: 'keep me' },
  ] });
  const msg = await spooled(ctx, raw);
  const verdict = await attachmentStage(msg, ctx);
  t.equal(verdict.action, 'accept');
  if (verdict.action !== 'accept' || !verdict.replacement) return t.fail('expected a rewritten message');
  t.match(verdict.headers?.[0] ?? '', /^X-Yubin-Attachments: removed "setup\.exe" \(blocked file type \.exe\); original held as \S+/);

  const parts = await pythonParts(verdict.replacement);
  t.same(parts.map((p) => [p.type, p.filename]), [['text/plain', null], ['text/plain', null], ['text/plain', 'notes.txt']]);
  t.equal(parts[0]?.text?.trim(), 'Please run the tool.');
  t.match(parts[1]?.text ?? '', /The attachment "setup\.exe" was removed by the mail server: blocked file type \.exe\./);
  t.equal(parts[2]?.text, 'keep me');
  t.notOk((await readFile(verdict.replacement, 'latin1')).includes(program.toString('base64').slice(0, 40)), 'program bytes are gone');

  const held = await new Quarantine(ctx).list();
  t.equal(held.length, 1);
  t.match(held[0]?.reason, /attachment removed: "setup\.exe"/);
  t.equal(await sha256((await new Quarantine(ctx).show(held[0]!.id)).path), await sha256(msg.path), 'the quarantine holds the original byte for byte');
  t.match(parts[1]?.text ?? '', held[0]!.id);
});

t.test('removes report.pdf.exe as a double extension', async (t) => {
  const ctx = await contentContext(t);
  const msg = await spooled(ctx, await compose({ text: 'invoice', attachments: [{ filename: 'report.pdf.exe', content: program }] }));
  const verdict = await attachmentStage(msg, ctx);
  if (verdict.action !== 'accept' || !verdict.replacement) return t.fail('expected a rewritten message');
  const parts = await pythonParts(verdict.replacement);
  t.equal(parts.length, 2);
  t.match(parts[1]?.text ?? '', /"report\.pdf\.exe" was removed by the mail server: double extension: looks like \.pdf but is \.exe/);
});

t.test('finds a program inside a zip archive and one whose name lies', async (t) => {
  const ctx = await contentContext(t);
  const zip = await zipOf({ 'readme.txt': Buffer.from('hello'), 'tool.scr': program });
  const msg = await spooled(ctx, await compose({ text: 'two files', attachments: [
    { filename: 'bundle.zip', content: zip },
    { filename: 'scan.pdf', content: program, contentType: 'application/pdf' },
  ] }));
  const verdict = await attachmentStage(msg, ctx);
  if (verdict.action !== 'accept' || !verdict.replacement) return t.fail('expected a rewritten message');
  const notices = (await pythonParts(verdict.replacement)).map((p) => p.text ?? '');
  t.match(notices[1], /"bundle\.zip → tool\.scr" was removed by the mail server: blocked file type \.scr/);
  t.match(notices[2], /"scan\.pdf" was removed by the mail server: Windows program inside a file named "scan\.pdf"/);
});

t.test('leaves a clean message byte for byte as it came', async (t) => {
  const ctx = await contentContext(t);
  const zip = await zipOf({ 'plan.txt': Buffer.from('the plan') });
  const msg = await spooled(ctx, await compose({ text: 'clean', attachments: [{ filename: 'plan.zip', content: zip }, { filename: 'photo.jpg', content: Buffer.alloc(3000, 7) }] }));
  const before = await sha256(msg.path);
  t.same(await attachmentStage(msg, ctx), { action: 'accept', facts: { blocked: 'none' } });
  t.equal(await sha256(msg.path), before);
});

t.test('rejects at DATA with 554 5.7.1 naming the file when set to reject', async (t) => {
  const ctx = await contentContext(t);
  await ctx.store.set('attachments.inbound', 'reject');
  const msg = await spooled(ctx, await compose({ text: 'x', attachments: [{ filename: 'run.js', content: 'alert(1)' }] }));
  t.same(await attachmentStage(msg, ctx), { action: 'reject', code: 554, enhanced: '5.7.1', text: 'Message refused: attachment "run.js" is not allowed (blocked file type .js)', facts: { blocked: '"run.js" (blocked file type .js)' } });
});

t.test('filters mail our users send out as well', async (t) => {
  const ctx = await contentContext(t);
  const msg = await spooled(ctx, await compose({ text: 'x', attachments: [{ filename: 'macro.vbs', content: 'x' }] }), { direction: 'outbound' });
  const verdict = await attachmentStage(msg, ctx);
  t.equal(verdict.action, 'accept');
  t.ok(verdict.action === 'accept' && verdict.replacement, 'rewritten');
});

t.test('holds a DKIM-signed message whole instead of breaking its signature', async (t) => {
  const ctx = await contentContext(t);
  const raw = Buffer.concat([Buffer.from('DKIM-Signature: v=1; a=rsa-sha256; d=outside.example; s=s1; h=from:to:subject; bh=x; b=y\r\n'),
    await compose({ text: 'x', attachments: [{ filename: 'setup.exe', content: program }] })]);
  const msg = await spooled(ctx, raw);
  const verdict = await attachmentStage(msg, ctx);
  t.equal(verdict.action, 'quarantine');
  t.match(verdict.action === 'quarantine' ? verdict.reason : '', /blocked attachment in a dkim message \(not rewritten\): "setup\.exe"/);
  t.equal(await sha256(msg.path), (await import('node:crypto')).createHash('sha256').update(raw).digest('hex'));
});
