// fetchmail (Debian package fetchmail) as the real client: APOP over plain TCP, POP3 over TLS.
import t from 'tap';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { maildirOf } from '../../src/maildir/maildir.ts';
import { startPop3, addUser, putMessage, run, tempDir, type Teardown } from './helpers.ts';

async function fetchmail(t: Teardown, poll: string): Promise<{ code: number; log: string; mbox: string }> {
  const home = await tempDir(t, 'yubin-fetchmail-');
  const mbox = join(home, 'out.mbox');
  const rc = join(home, 'fetchmailrc');
  // fetchmail reads passwords only from its rc file, which must be private (0600).
  await writeFile(rc, `set no syslog\n${poll}\n  mda "/bin/sh -c 'cat >> ${mbox}'"\n`, { mode: 0o600 });
  let code = 0;
  let log = '';
  try {
    const r = await run('fetchmail', ['-f', rc, '--nodetach', '-v', '--pidfile', join(home, 'pid')], {
      timeout: 30_000,
      env: { ...process.env, FETCHMAILHOME: home, HOME: home },
    });
    log = r.stdout + r.stderr;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    code = typeof e.code === 'number' ? e.code : -1;
    log = (e.stdout ?? '') + (e.stderr ?? '');
  }
  const text = await readFile(mbox, 'utf8').catch(() => '');
  return { code, log, mbox: text };
}

async function fixture(t: Teardown) {
  const fx = await startPop3(t);
  await addUser(fx.ctx, 'alice', 'correct horse', 'apop secret');
  await putMessage(fx.ctx, 'alice', 'From: one@example.com\nSubject: first\n\nbody one\n');
  await putMessage(fx.ctx, 'alice', 'From: two@example.com\nSubject: second\n\n.dot line\n');
  const count = async () => {
    const root = maildirOf(fx.dir, 'alice');
    return (await readdir(join(root, 'new'))).length + (await readdir(join(root, 'cur'))).length;
  };
  return { ...fx, count };
}

t.test('fetchmail with APOP fetches every message and deletes them on the server', async (t) => {
  const fx = await fixture(t);
  const r = await fetchmail(t, `poll 127.0.0.1 service ${fx.port} protocol APOP timeout 10:\n  user "alice" there password "apop secret" is "alice" here\n  sslproto ''`);
  t.equal(r.code, 0, r.log);
  t.match(r.log, /POP3> APOP alice [0-9a-f]{32}/, 'fetchmail used APOP');
  t.match(r.mbox, /Subject: first[\s\S]*body one[\s\S]*Subject: second[\s\S]*\n\.dot line/);
  t.equal(await fx.count(), 0, 'both deleted after QUIT');
});

t.test('fetchmail with a wrong APOP secret reports an authentication failure (exit 3) and nothing is deleted', async (t) => {
  const fx = await fixture(t);
  const r = await fetchmail(t, `poll 127.0.0.1 service ${fx.port} protocol APOP timeout 10:\n  user "alice" there password "guess" is "alice" here\n  sslproto ''`);
  t.equal(r.code, 3, 'PS_AUTHFAIL');
  t.match(r.log, /-ERR \[AUTH\] Authentication failed/);
  t.equal(await fx.count(), 2);
});

t.test('fetchmail over POP3S with USER/PASS, keeping the messages', async (t) => {
  const fx = await fixture(t);
  const r = await fetchmail(t, `poll 127.0.0.1 service ${fx.tlsPort} protocol POP3 timeout 10:\n  user "alice" there password "correct horse" is "alice" here\n  ssl\n  no sslcertck\n  keep`);
  t.equal(r.code, 0, r.log);
  t.match(r.mbox, /Subject: first[\s\S]*Subject: second/);
  t.equal(await fx.count(), 2, 'kept on the server');
});
