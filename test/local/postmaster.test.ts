// postmaster (RFC 5321 §4.5.1) and abuse (RFC 2142) exist on every local domain and bare, on a
// fresh install too: they go where the postmaster setting says unless an alias re-points them,
// and they cannot be deleted.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, startChild, repo, BASE_SETTINGS } from '../support/firmware.ts';
import { run, RawSmtp } from '../support/clients.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';

const dataDir = await tempDir(t);
// A fresh install: no users, no aliases; two local domains.
await seed(dataDir, { ...BASE_SETTINGS, domains: ['yubin.test', 'second.test'] });
const fw = await startChild(dataDir);
t.teardown(() => void fw.child.kill('SIGKILL'));
const yubin = (...args: string[]) => run(process.execPath, [join(repo, 'firmware/yubin.ts'), '--data', dataDir, ...args]);
const count = (user: string) => readdir(join(maildirOf(dataDir, user), 'new')).then((f) => f.length, () => 0);

async function waitFor(what: string, check: () => unknown): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** From outside (127.0.0.2): the RCPT reply, and the DATA reply when the RCPT was accepted. */
async function send(rcpt: string): Promise<[string, string?]> {
  const c = await RawSmtp.open(fw.ports.smtp!, '127.0.0.2');
  try {
    await c.reply();
    await c.command('EHLO outside.example');
    await c.command('MAIL FROM:<someone@outside.example>');
    const r = await c.command(`RCPT TO:<${rcpt}>`);
    if (!r.startsWith('250')) return [r];
    await c.command('DATA');
    c.send(`Subject: to ${rcpt}\r\n\r\nhello\r\n.\r\n`);
    return [r, await c.reply()];
  } finally {
    c.close();
  }
}

t.test('a fresh install accepts RCPT TO:<postmaster> from outside, and postmaster@/abuse@ every local domain', async (t) => {
  for (const rcpt of ['postmaster', 'Postmaster', 'postmaster@yubin.test', 'abuse@yubin.test', 'postmaster@second.test', 'abuse@second.test']) {
    const [r, data] = await send(rcpt);
    t.match(r, /^250 /, `RCPT TO:<${rcpt}>`);
    t.match(data, /^250 2\.0\.0 Ok: queued/);
  }
  await waitFor('six in the postmaster mailbox', async () => (await count('postmaster')) === 6);
  t.pass('kept in the postmaster mailbox, though no user exists yet');
  t.match((await send('nobody@yubin.test'))[0], /^550 5\.1\.1 /, 'other unknown users still get 550');
});

t.test('the postmaster setting re-points both; an alias re-points one', async (t) => {
  t.equal((await yubin('user', 'add', 'alice', '--password', 'alice-password-1')).code, 0);
  t.equal((await yubin('config', 'set', 'postmaster', 'alice')).stdout, 'postmaster = alice\n');
  await new Promise((r) => setTimeout(r, 300));
  await send('postmaster');
  await send('abuse@second.test');
  await waitFor('two for alice', async () => (await count('alice')) === 2);
  t.pass('postmaster and abuse go to alice');

  t.equal((await yubin('alias', 'add', 'abuse', 'security@partner.example')).code, 0);
  const list = await yubin('alias', 'list');
  t.equal(list.stdout, 'abuse → security@partner.example\npostmaster → alice   (built in: the postmaster setting)\n', 'alias list shows the built-in one too');
});

t.test('postmaster and abuse cannot be deleted, only re-pointed', async (t) => {
  for (const alias of ['abuse', 'postmaster', 'postmaster@yubin.test']) {
    const r = await yubin('alias', 'del', alias);
    t.equal(r.code, 2, `alias del ${alias} is refused`);
    t.match(r.stderr, new RegExp(`^alias: ${alias.replace('.', '\\.')} cannot be removed: RFC (5321 §4\\.5\\.1 requires|2142 expects) it on every local domain\\. Point it elsewhere with 'alias add ${alias.replace('.', '\\.')} TARGET\\.\\.\\.'`));
  }
  t.match((await yubin('alias', 'list')).stdout, /^abuse → security@partner\.example\n/, 'the alias is still there');
});
