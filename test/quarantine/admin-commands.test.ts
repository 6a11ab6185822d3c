import t from 'tap';
import { readFile } from 'node:fs/promises';
import { quarantineCommand } from '../../firmware/commands/quarantine-verbs.ts';
import { Quarantine, type Reinjection } from '../../src/quarantine/store.ts';
import { contentContext, spooled, compose } from './fixture.ts';

t.test('list, show, release and delete held mail', async (t) => {
  const ctx = await contentContext(t);
  const q = new Quarantine(ctx);
  const a = await q.hold(await spooled(ctx, await compose({ subject: 'First', text: 'a' })), 'spam score 9 (SPF_FAIL(3))', ['X-Spam-Flag: YES']);
  const b = await q.hold(await spooled(ctx, await compose({ subject: 'Second', text: 'b' })), 'virus Eicar');
  const out: string[] = [];
  const released: Array<{ held: Reinjection['held']; text: string }> = [];
  const reinject = async (m: Reinjection) => {
    released.push({ held: m.held, text: await readFile(m.path, 'utf8') });
  };
  const cmd = (...args: string[]) => quarantineCommand(args, ctx, reinject, (l) => out.push(l));

  t.equal(await cmd('list'), 0);
  t.equal(out.length, 2);
  t.match(out[0], new RegExp(`^${a.id} .* from <sender@outside\\.example>  "First"  spam score 9 \\(SPF_FAIL\\(3\\)\\)$`));
  t.match(out[1], /"Second"  virus Eicar$/);

  out.length = 0;
  t.equal(await cmd('show', a.id), 0);
  t.ok(out.includes('reason: spam score 9 (SPF_FAIL(3))'));
  t.ok(out.includes('X-Spam-Flag: YES'));
  t.ok(out.includes('Subject: First'));

  out.length = 0;
  t.equal(await cmd('release', a.id), 0);
  t.same(out, [`released ${a.id} to user@localhost`]);
  t.equal(released[0]?.held.mailFrom, 'sender@outside.example');
  t.match(released[0]?.text, /^X-Spam-Flag: YES\r\n[\s\S]*Subject: First/);

  out.length = 0;
  t.equal(await cmd('delete', b.id), 0);
  t.equal(await cmd('list'), 0);
  t.same(out, [`deleted ${b.id}`, 'quarantine is empty']);
});

t.test('names the problem with a bad or unknown id, and keeps mail whose release failed', async (t) => {
  const ctx = await contentContext(t);
  const q = new Quarantine(ctx);
  const held = await q.hold(await spooled(ctx, await compose({ text: 'a' })), 'spam');
  const out: string[] = [];
  const failing = async () => {
    throw new Error('queue full');
  };
  const cmd = (...args: string[]) => quarantineCommand(args, ctx, failing, (l) => out.push(l));
  t.equal(await cmd('show', '../../etc/passwd'), 1);
  t.equal(out.pop(), `quarantine: "../../etc/passwd" is not a quarantine id (see 'yubin quarantine list')`);
  t.equal(await cmd('delete', 'abc-000000000000'), 1);
  t.equal(out.pop(), 'quarantine: no held message abc-000000000000 (released, deleted or expired)');
  t.equal(await cmd('release'), 2);
  t.equal(out.pop(), 'usage: yubin quarantine list | show ID | release ID | delete ID');
  await t.rejects(cmd('release', held.id), /queue full/);
  t.equal((await q.list()).length, 1, 'still held');
});
