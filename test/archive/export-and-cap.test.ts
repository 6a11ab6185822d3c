import t from 'tap';
import { writeFile, readFile, stat, readdir } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { makeContext, tempDir } from '../outbound/fixtures/harness.ts';
import { archiveMessage, archiveOf, archiveStage } from '../../src/archive/stage.ts';
import { exportMbox } from '../../src/archive/mbox.ts';
import type { MessageContext } from '../../src/pipeline/stage.ts';
import type { Context } from '../../src/context.ts';

const run = promisify(execFile);
const DAY1 = Date.UTC(2026, 10, 26, 9, 0, 0);
const DAY2 = Date.UTC(2026, 10, 27, 9, 0, 0);

let n = 0;
async function message(ctx: Context, dir: string, o: { from: string; to: string[]; subject: string; body?: string; direction?: 'inbound' | 'outbound' }): Promise<MessageContext> {
  const id = `0TEST${String(++n).padStart(4, '0')}0000000000`;
  const text = [`From: <${o.from}>`, `To: ${o.to.join(', ')}`, `Subject: ${o.subject}`, '', ...(o.body ?? 'Hi.').split('\n'), ''].join('\r\n');
  const path = join(dir, `${id}.eml`);
  await writeFile(path, text);
  void ctx;
  return { queueId: id, direction: o.direction ?? 'outbound', client: { address: '127.0.0.1', hostname: '', helo: 'x', tls: false, user: 'alice', trusted: true }, mailFrom: o.from, rcpts: o.to, path, size: Buffer.byteLength(text) };
}

async function exportTo(ctx: Context, dir: string, query: Parameters<typeof exportMbox>[1]): Promise<{ file: string; count: number }> {
  const file = join(dir, `export-${++n}.mbox`);
  const out = createWriteStream(file);
  const count = await exportMbox(archiveOf(ctx.dataDir), query, out);
  await new Promise<void>((resolve) => out.end(resolve));
  return { file, count };
}

const PY = `
import mailbox, sys, json
box = mailbox.mbox(sys.argv[1], create=False)
print(json.dumps([{"subject": m["subject"], "from": m.get_from(), "body": m.get_payload()} for m in box]))
`;

t.test('a day of archived mail exports as mboxrd that Python\'s mailbox module reads with the right count', async (t) => {
  const ctx = await makeContext(t);
  const dir = await tempDir(t);
  const day1 = [
    await message(ctx, dir, { from: 'alice@office.test', to: ['bob@dest.test'], subject: 'one', body: 'From the start of a line\n>From already quoted\n.dot' }),
    await message(ctx, dir, { from: 'alice@office.test', to: ['carol@else.test', 'dan@dest.test'], subject: 'two' }),
    await message(ctx, dir, { from: 'erin@office.test', to: ['bob@dest.test'], subject: 'three' }),
  ];
  for (const [i, m] of day1.entries()) await archiveMessage(m, ctx, DAY1 + i * 60_000);
  await archiveMessage(await message(ctx, dir, { from: 'alice@office.test', to: ['bob@dest.test'], subject: 'next day' }), ctx, DAY2);

  const { file, count } = await exportTo(ctx, dir, { since: DAY1 - 9 * 3600_000, until: DAY1 + 15 * 3600_000 });
  t.equal(count, 3, 'three messages on the day');
  const { stdout } = await run('python3', ['-c', PY, file], { timeout: 20_000 });
  const read = JSON.parse(stdout) as Array<{ subject: string; from: string; body: string }>;
  t.same(read.map((m) => m.subject), ['one', 'two', 'three'], 'Python reads the same three, in order');
  t.match(read[0]!.from, /^alice@office\.test Thu Nov 26 09:00:00 2026$/, 'From_ line: sender and asctime');
  t.match(read[0]!.body, /^>From the start of a line\n>>From already quoted\n\.dot\n$/, 'mboxrd quoting, LF line ends');
  const text = await readFile(file, 'utf8');
  t.notMatch(text, /\r/, 'no CR left');
});

t.test('search by sender, recipient and time', async (t) => {
  const ctx = await makeContext(t);
  const dir = await tempDir(t);
  await archiveMessage(await message(ctx, dir, { from: 'alice@office.test', to: ['bob@dest.test'], subject: 'a' }), ctx, DAY1);
  await archiveMessage(await message(ctx, dir, { from: 'erin@office.test', to: ['Bob@Dest.test'], subject: 'b' }), ctx, DAY1 + 1000);
  await archiveMessage(await message(ctx, dir, { from: 'alice@office.test', to: ['carol@else.test'], subject: 'c' }), ctx, DAY2);
  const subjects = async (q: object) => {
    const out: string[] = [];
    for await (const m of archiveOf(ctx.dataDir).search(q)) out.push(m.subject);
    return out;
  };
  t.same(await subjects({ from: 'alice' }), ['a', 'c']);
  t.same(await subjects({ to: 'bob@dest.test' }), ['a', 'b'], 'recipient match ignores case');
  t.same(await subjects({ from: 'alice', since: DAY2 - 1 }), ['c']);
  t.same(await subjects({ until: DAY1 + 1000 }), ['a'], 'until is exclusive');
});

t.test('the size cap drops the oldest copies first, never the live queue file', async (t) => {
  const ctx = await makeContext(t, { 'archive.maxBytes': '1M' });
  const dir = await tempDir(t);
  const big = 'x'.repeat(76) + '\n';
  const body = big.repeat(4000); // ~300 KiB each
  const messages = [];
  for (let i = 0; i < 5; i++) messages.push(await message(ctx, dir, { from: 'alice@office.test', to: ['bob@dest.test'], subject: `big ${i}`, body }));
  for (const [i, m] of messages.entries()) await archiveMessage(m, ctx, DAY1 + i * 60_000);
  const kept: string[] = [];
  for await (const m of archiveOf(ctx.dataDir).search()) kept.push(m.subject);
  t.same(kept, ['big 2', 'big 3', 'big 4'], 'the two oldest were dropped to stay under 1 MiB');
  t.ok((await archiveOf(ctx.dataDir).totalBytes()) <= 1024 * 1024);
  for (const m of messages) t.equal((await stat(m.path)).size, m.size, `${m.queueId}: the original file is untouched`);
});

t.test('copies of concurrent messages are written side by side: every one is counted once and findable, the cap still holds', async (t) => {
  const ctx = await makeContext(t, { 'archive.maxBytes': '2M' });
  const dir = await tempDir(t);
  const body = ('y'.repeat(76) + '\n').repeat(1300); // ~100 KiB each
  const messages = [];
  for (let i = 0; i < 40; i++) messages.push(await message(ctx, dir, { from: 'alice@office.test', to: ['bob@dest.test'], subject: `c${String(i).padStart(2, '0')}`, body }));
  // 20 at a time, as 20 sessions of office PCs would: first within the cap, then past it.
  await Promise.all(messages.slice(0, 20).map((m, i) => archiveMessage(m, ctx, DAY1 + i)));
  const first: string[] = [];
  for await (const m of archiveOf(ctx.dataDir).search()) first.push(m.subject);
  t.equal(first.length, 20, 'all 20 copies there');
  const onDisk = async () => {
    let bytes = 0;
    for (const day of await readdir(archiveOf(ctx.dataDir).root)) {
      for (const f of await readdir(join(archiveOf(ctx.dataDir).root, day))) if (f.endsWith('.eml')) bytes += (await stat(join(archiveOf(ctx.dataDir).root, day, f))).size;
    }
    return bytes;
  };
  t.equal(await archiveOf(ctx.dataDir).totalBytes(), await onDisk(), 'the day totals are what is on disk: each copy counted once');
  await Promise.all(messages.slice(20).map((m, i) => archiveMessage(m, ctx, DAY1 + 20 + i)));
  t.ok((await onDisk()) <= 2 * 1024 * 1024, `under the 2 MiB cap after 20 more at once (${await onDisk()} bytes)`);
  t.equal(await archiveOf(ctx.dataDir).totalBytes(), await onDisk(), 'the totals still match the folder');
  const kept: string[] = [];
  for await (const m of archiveOf(ctx.dataDir).search()) kept.push(m.subject);
  t.ok(kept.includes('c39') && !kept.includes('c00'), 'the newest kept, the oldest dropped');
});

t.test('copies older than archive.maxAgeDays are dropped', async (t) => {
  const ctx = await makeContext(t, { 'archive.maxAgeDays': '1' });
  const dir = await tempDir(t);
  await archiveMessage(await message(ctx, dir, { from: 'a@office.test', to: ['b@dest.test'], subject: 'old' }), ctx, DAY1 - 3 * 86_400_000);
  await archiveMessage(await message(ctx, dir, { from: 'a@office.test', to: ['b@dest.test'], subject: 'new' }), ctx, DAY1);
  t.same(await readdir(archiveOf(ctx.dataDir).root), ['2026-11-26']);
});

t.test('the archive stage copies outbound mail, and inbound only when archive.inbound is on', async (t) => {
  const ctx = await makeContext(t);
  const dir = await tempDir(t);
  const inbound = await message(ctx, dir, { from: 'x@world.test', to: ['alice@office.test'], subject: 'in', direction: 'inbound' });
  const outbound = await message(ctx, dir, { from: 'alice@office.test', to: ['x@world.test'], subject: 'out' });
  t.same(await archiveStage.run(inbound, ctx), { action: 'accept' });
  t.same(await archiveStage.run(outbound, ctx), { action: 'accept' });
  await ctx.store.set('archive.inbound', 'true');
  await archiveStage.run(await message(ctx, dir, { from: 'y@world.test', to: ['alice@office.test'], subject: 'in later', direction: 'inbound' }), ctx);
  const subjects: string[] = [];
  for await (const m of archiveOf(ctx.dataDir).search()) subjects.push(m.subject);
  t.same(subjects, ['out', 'in later']);
});
