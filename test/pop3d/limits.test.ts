import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { maildirOf } from '../../src/maildir/maildir.ts';
import { startPop3, addUser, putMessage, LineClient, userPass } from './helpers.ts';

t.test('refuses connections beyond the per-client limit, but not from other clients', async (t) => {
  const fx = await startPop3(t, { 'pop3.maxSessionsPerClient': '2' }, { tls: false });
  const open: LineClient[] = [];
  t.teardown(() => open.forEach((c) => c.close()));
  for (let i = 0; i < 2; i++) {
    open.push(await LineClient.connect(fx.port, { localAddress: '127.0.0.9' }));
    t.match(await open[i]!.line(), /^\+OK/);
  }
  const third = await LineClient.connect(fx.port, { localAddress: '127.0.0.9' });
  open.push(third);
  t.equal(await third.line(), '-ERR [SYS/TEMP] Too many connections from 127.0.0.9; try again later');
  t.equal(await third.line(), null, 'and closed');
  const other = await LineClient.connect(fx.port, { localAddress: '127.0.0.10' });
  open.push(other);
  t.match(await other.line(), /^\+OK/, 'another address still gets in');
  open[0]!.close();
  // The slot comes back once the server has seen the close.
  let again: string | null = null;
  for (let i = 0; i < 50 && !again?.startsWith('+OK'); i++) {
    const c = await LineClient.connect(fx.port, { localAddress: '127.0.0.9' });
    open.push(c);
    again = await c.line();
    if (!again?.startsWith('+OK')) await new Promise((r) => setTimeout(r, 20));
  }
  t.match(again, /^\+OK/);
});

t.test('refuses connections beyond the total limit, on the TLS port too without a handshake', async (t) => {
  // No reserve for trusted networks here: both places are open to these outside clients.
  const fx = await startPop3(t, { 'pop3.maxSessions': '2', 'pop3.reservedSessions': '0' });
  const a = await LineClient.connect(fx.port, { localAddress: '127.0.0.11' });
  const b = await LineClient.connect(fx.tlsPort, { localAddress: '127.0.0.12', tls: true });
  t.teardown(() => [a, b].forEach((c) => c.close()));
  await a.line();
  await b.line();
  const c = await LineClient.connect(fx.port, { localAddress: '127.0.0.13' });
  t.teardown(() => c.close());
  t.equal(await c.line(), '-ERR [SYS/TEMP] Too many connections; try again later');
  t.equal(fx.service.sessionCount(), 2);
});

t.test('an idle session is logged out without UPDATE: its deletions are not done', async (t) => {
  const fx = await startPop3(t, { 'pop3.idleTimeout': '1', 'pop3.allowCleartext': 'true' }, { tls: false });
  await addUser(fx.ctx, 'alice', 'correct horse');
  await putMessage(fx.ctx, 'alice', 'Subject: keep me\n\nx\n');
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  await userPass(c, 'alice', 'correct horse');
  t.equal(await c.cmd('DELE 1'), '+OK message 1 deleted');
  const started = Date.now();
  t.equal(await c.line(5000), '-ERR Autologout: idle for too long');
  t.equal(await c.line(), null);
  t.ok(Date.now() - started >= 800, 'after about the configured second');
  t.equal((await readdir(join(maildirOf(fx.dir, 'alice'), 'new'))).length, 1, 'message still there');
  const d = await LineClient.connect(fx.port);
  t.teardown(() => d.close());
  await d.line();
  t.match(await userPass(d, 'alice', 'correct horse'), /^\+OK alice has 1 message/, 'the lock was released');
});

t.test('a long pipelined burst is answered in order without unbounded buffering', async (t) => {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true' }, { tls: false });
  await addUser(fx.ctx, 'alice', 'correct horse');
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  await userPass(c, 'alice', 'correct horse');
  const n = 20_000;
  c.socket.write('NOOP\r\n'.repeat(n) + 'STAT\r\n');
  let noops = 0;
  for (let i = 0; i < n; i++) if ((await c.line()) === '+OK') noops += 1;
  t.equal(noops, n);
  t.equal(await c.line(), '+OK 0 0', 'the last command answered last');
});

t.test('an overlong line is refused and the session goes on', async (t) => {
  const fx = await startPop3(t, {}, { tls: false });
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  t.equal(await c.cmd('USER ' + 'a'.repeat(100_000)), '-ERR Command line too long (RFC 2449: at most 255 octets)');
  t.equal(await c.cmd('CAPA'), '+OK Capability list follows');
});

t.test('stop() ends open sessions without UPDATE', async (t) => {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true' }, { tls: false });
  await addUser(fx.ctx, 'alice', 'correct horse');
  await putMessage(fx.ctx, 'alice', 'Subject: x\n\ny\n');
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  await userPass(c, 'alice', 'correct horse');
  await c.cmd('DELE 1');
  await fx.service.stop();
  t.equal(await c.line(), '-ERR [SYS/TEMP] Server shutting down');
  t.equal(await c.line(), null);
  t.equal((await readdir(join(maildirOf(fx.dir, 'alice'), 'new'))).length, 1);
});
