// curl as the real client: pop3:// (STLS required with --ssl-reqd, or APOP) and pop3s://.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { maildirOf } from '../../src/maildir/maildir.ts';
import { startPop3, addUser, putMessage, run, type Teardown } from './helpers.ts';

const MESSAGE = 'From: sender@example.com\nSubject: curl\n\nhello curl\n.dotted\n';

async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('curl', ['--silent', '--show-error', '--max-time', '15', ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function fixture(t: Teardown) {
  const fx = await startPop3(t);
  await addUser(fx.ctx, 'alice', 'correct horse', 'apop secret');
  await putMessage(fx.ctx, 'alice', MESSAGE);
  await putMessage(fx.ctx, 'alice', 'Subject: two\n\nsecond\n');
  return fx;
}

const size1 = MESSAGE.replace(/\n/g, '\r\n').length;

t.test('curl pop3:// with --ssl-reqd upgrades with STLS, lists and retrieves', async (t) => {
  const fx = await fixture(t);
  const base = `pop3://127.0.0.1:${fx.port}`;
  const list = await curl(['--ssl-reqd', '-k', '-u', 'alice:correct horse', `${base}/`]);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, new RegExp(`^1 ${size1}\\r\\n2 \\d+\\r\\n$`));
  const retr = await curl(['--ssl-reqd', '-k', '-u', 'alice:correct horse', `${base}/1`]);
  t.equal(retr.code, 0, retr.stderr);
  t.equal(retr.stdout, MESSAGE.replace(/\n/g, '\r\n'), 'the message exactly as stored, dot line un-stuffed');
});

t.test('curl pop3:// without TLS logs in with APOP, and a wrong secret is denied (exit 67)', async (t) => {
  const fx = await fixture(t);
  const base = `pop3://127.0.0.1:${fx.port}`;
  const ok = await curl(['--login-options', 'AUTH=+APOP', '-u', 'alice:apop secret', `${base}/1`]);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout, MESSAGE.replace(/\n/g, '\r\n'));
  const bad = await curl(['--login-options', 'AUTH=+APOP', '-u', 'alice:correct horse', `${base}/1`]);
  t.equal(bad.code, 67, 'CURLE_LOGIN_DENIED');
  const cleartext = await curl(['--login-options', 'AUTH=*', '-u', 'alice:correct horse', `${base}/1`]);
  t.not(cleartext.code, 0, 'no cleartext password login over plain TCP');
});

t.test('curl pop3s:// retrieves, and DELE with QUIT removes the message', async (t) => {
  const fx = await fixture(t);
  const base = `pop3s://127.0.0.1:${fx.tlsPort}`;
  const retr = await curl(['-k', '-u', 'alice:correct horse', `${base}/1`]);
  t.equal(retr.code, 0, retr.stderr);
  t.equal(retr.stdout, MESSAGE.replace(/\n/g, '\r\n'));
  const dele = await curl(['-k', '-u', 'alice:correct horse', '-X', 'DELE', '-I', `${base}/1`]);
  t.equal(dele.code, 0, dele.stderr);
  const root = maildirOf(fx.dir, 'alice');
  const left = [...(await readdir(join(root, 'new'))), ...(await readdir(join(root, 'cur')))];
  t.equal(left.length, 1, 'one message left');
  const list = await curl(['-k', '-u', 'alice:correct horse', `${base}/`]);
  t.match(list.stdout, /^1 \d+\r\n$/);
});
