// POP-before-SMTP (docs/REQUIREMENTS.md §1 ②): a POP3 login from an address grants it a relay lease, read by the
// relay policy through ctx.leases.has(address).
import t from 'tap';
import { startPop3, addUser, putMessage, LineClient, userPass, run } from './helpers.ts';

t.test('after a POP3 login from 127.0.0.5 that address may relay for the lease time, and not after', async (t) => {
  const fx = await startPop3(t, { 'pop3.popBeforeSmtpSeconds': '2', 'pop3.allowCleartext': 'true' }, { tls: false });
  await addUser(fx.ctx, 'alice', 'correct horse', 'apop secret');
  await putMessage(fx.ctx, 'alice', 'Subject: hi\n\nhello\n');
  t.notOk(fx.ctx.leases.has('127.0.0.5'), 'no lease before');

  // A failed login grants nothing.
  const bad = await LineClient.connect(fx.port, { localAddress: '127.0.0.5' });
  t.teardown(() => bad.close());
  await bad.line();
  t.match(await userPass(bad, 'alice', 'wrong password'), /^-ERR/);
  t.notOk(fx.ctx.leases.has('127.0.0.5'), 'no lease after a failure');

  // curl, bound to 127.0.0.5, logs in with APOP (a real client; curl sends no QUIT, the lease comes at login).
  const { stdout } = await run('curl', ['-sS', '--max-time', '10', '--interface', '127.0.0.5', '--login-options', 'AUTH=+APOP',
    '-u', 'alice:apop secret', `pop3://127.0.0.1:${fx.port}/`], { timeout: 15_000 });
  t.match(stdout, /^1 \d+\r\n$/, 'curl listed the maildrop');
  const granted = Date.now();
  t.ok(fx.ctx.leases.has('127.0.0.5'), '127.0.0.5 may relay');
  t.ok(fx.ctx.leases.has('::ffff:127.0.0.5'), 'also when the SMTP side sees the v4-mapped form');
  t.notOk(fx.ctx.leases.has('127.0.0.6'), 'other addresses may not');
  await new Promise((r) => setTimeout(r, Math.max(0, granted + 2100 - Date.now())));
  t.notOk(fx.ctx.leases.has('127.0.0.5'), 'not after the lease time');
});

t.test('with pop3.popBeforeSmtpSeconds 0 (the default) a login grants no relay', async (t) => {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true' }, { tls: false });
  await addUser(fx.ctx, 'alice', 'correct horse');
  const c = await LineClient.connect(fx.port, { localAddress: '127.0.0.5' });
  t.teardown(() => c.close());
  await c.line();
  t.match(await userPass(c, 'alice', 'correct horse'), /^\+OK/);
  t.notOk(fx.ctx.leases.has('127.0.0.5'));
});
