import t from 'tap';
import { readFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type CommandEnv } from '../../firmware/commands/index.ts';
import { makeContext, queueMessage, startStation, startPeer, commonFreePort, waitFor, tempDir } from './fixtures/harness.ts';
import { Spool } from '../../src/spool/spool.ts';
import { archiveMessage } from '../../src/archive/stage.ts';
import type { Context } from '../../src/context.ts';

async function cmd(ctx: Context, line: string, surface: 'cli' | 'console' = 'cli'): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const env: CommandEnv = { ctx, surface, out: { write: (s) => (out += s) }, err: { write: (s) => (err += s) }, prompt: async () => null, hooks: {} };
  const code = await runCommand(line.split(' '), env);
  return { code, out, err };
}

t.test('queue list, show, hold, release, delete, cancel and flush work on the spool with clear errors', async (t) => {
  const ctx = await makeContext(t, { domains: 'office.test', hostname: 'yubin.office.test' });
  await ctx.users.add('alice', 'correct horse battery');
  const spool = new Spool(ctx.dataDir);
  const a = await queueMessage(ctx, spool, { to: ['bob@dest.test'], subject: 'first' });
  const b = await queueMessage(ctx, spool, { to: ['carol@dest.test'], subject: 'second' });

  const list = await cmd(ctx, 'queue list');
  t.equal(list.code, 0);
  t.match(list.out, new RegExp(`^${a.id} .* <alice@office\\.test>\\n    bob@dest\\.test pending\\n${b.id} `));
  t.match((await cmd(ctx, `queue show ${a.id}`)).out, /Subject: first/);
  t.match(await cmd(ctx, `queue hold ${a.id}`), { code: 0, out: `${a.id} held\n` });
  t.match((await cmd(ctx, 'queue list')).out, new RegExp(`${a.id} .* HELD by the administrator \\(queue release ${a.id}\\)`));
  t.match(await cmd(ctx, `queue release ${a.id}`), { code: 0, out: `${a.id} released\n` });
  t.match(await cmd(ctx, `queue release ${a.id}`), { code: 1, err: `queue release: ${a.id} is not held\n` });
  t.match(await cmd(ctx, `queue delete ${a.id}`), { code: 0 });
  t.match(await cmd(ctx, `queue show ${a.id}`), { code: 1, err: /no such message in the queue/ });
  t.match(await cmd(ctx, 'queue hold nonsense'), { code: 1, err: /"NONSENSE" is not a queue ID/ });
  t.match(await cmd(ctx, 'queue hold'), { code: 2, err: /usage: queue hold ID/ });
  t.match(await cmd(ctx, `queue cancel ${b.id}`), { code: 0, out: `${b.id} cancelled; not sent to carol@dest.test\n` });
  const left = (await cmd(ctx, 'queue list')).out;
  t.match(left, /<> *\n    alice@office\.test pending/, 'the cancel notice to the sender waits in the queue for the running daemon');
  t.match(await cmd(ctx, 'queue flush'), { code: 0, out: 'flush requested\n' });
  await t.resolves(access(join(spool.root, 'flush-request')), 'flush asks the running queue manager through a file');
});

t.test('a message held from the CLI stays put; released from the CLI, the running queue manager sends it', async (t) => {
  const port = await commonFreePort(['127.0.0.70']);
  const ctx = await makeContext(t, { domains: 'office.test', 'relay.smarthost': '127.0.0.70', 'outbound.port': String(port) });
  const spool = new Spool(ctx.dataDir);
  const entry = await queueMessage(ctx, spool, { to: ['bob@dest.test'] });
  t.equal((await cmd(ctx, `queue hold ${entry.id}`)).code, 0);
  const peer = await startPeer(t, '127.0.0.70', port);
  await startStation(t, ctx);
  await new Promise((r) => setTimeout(r, 700));
  t.equal(peer.received.length, 0, 'held: not sent');
  t.equal((await cmd(ctx, `queue release ${entry.id}`)).code, 0);
  await waitFor('sent after release', () => peer.received.length === 1, 12_000);
  t.pass('delivered after the rescan');
});

t.test('archive search and export from the command line', async (t) => {
  const ctx = await makeContext(t);
  const dir = await tempDir(t);
  const day = Date.UTC(2026, 10, 26, 10);
  for (let i = 0; i < 3; i++) {
    const path = join(dir, `m${i}.eml`);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, `From: <alice@office.test>\r\nSubject: note ${i}\r\n\r\nFrom me\r\n`);
    await archiveMessage({ queueId: `0ARCH${i}00000000000000`.slice(0, 19), direction: 'outbound', client: { address: '127.0.0.1', hostname: '', helo: '', tls: false, user: 'alice', trusted: true }, mailFrom: 'alice@office.test', rcpts: [`r${i}@dest.test`], path, size: 60 }, ctx, day + i * (i === 2 ? 86_400_000 : 1000));
  }
  const found = await cmd(ctx, 'archive search --from alice --day 2026-11-26');
  t.match(found.out, /note 0[^]*note 1[^]*2 message\(s\)\n$/);
  const file = join(dir, 'day.mbox');
  const res = await cmd(ctx, `archive export --since 2026-11-26 --until 2026-11-27 --output ${file}`, 'console');
  t.match(res, { code: 0, err: '2 message(s) exported\n' });
  const text = await readFile(file, 'utf8');
  t.equal(text.match(/^From alice@office\.test /gm)?.length, 2);
  t.equal(text.match(/^>From me$/gm)?.length, 2);
  t.match(await cmd(ctx, 'archive export --since yesterday', 'console'), { code: 2, err: /--since: "yesterday" is not a date/ });
  t.match(await cmd(ctx, 'archive export --day 2026-11-26', 'console'), { code: 2, err: /the console needs --output FILE/ });
});
