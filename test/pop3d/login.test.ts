import t from 'tap';
import { apopDigest } from '../../src/pop3d/apop.ts';
import type { EventMap } from '../../src/events/bus.ts';
import { startPop3, addUser, putMessage, LineClient, userPass } from './helpers.ts';

const plain = (authzid: string, authcid: string, password: string) => Buffer.from(`${authzid}\0${authcid}\0${password}`).toString('base64');

async function capa(c: LineClient): Promise<string[]> {
  const reply = await c.cmd('CAPA');
  if (reply !== '+OK Capability list follows') throw new Error(`CAPA answered ${reply}`);
  return c.multi();
}

function timestampOf(greeting: string | null): string {
  const m = /(<[^>]+>)$/.exec(greeting ?? '');
  if (!m?.[1]) throw new Error(`no timestamp in ${greeting}`);
  return m[1];
}

t.test('on a plain connection CAPA offers STLS but not USER or SASL, and USER/PASS is refused', async (t) => {
  const fx = await startPop3(t);
  await addUser(fx.ctx, 'alice', 'correct horse');
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  const caps = await capa(c);
  for (const cap of ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'STLS']) t.ok(caps.includes(cap), cap);
  t.notOk(caps.includes('USER'), 'USER not advertised');
  t.notOk(caps.some((l) => l.startsWith('SASL')), 'SASL not advertised');
  // The refusal names the POP3S port really listening (here a free one, not 995).
  const refusal = `-ERR [AUTH] Cleartext logins are disabled on an unencrypted connection; use STLS, port ${fx.tlsPort} (POP3S), or APOP`;
  t.equal(await c.cmd('USER alice'), refusal);
  t.equal(await c.cmd('PASS correct horse'), refusal);
  t.equal(await c.cmd(`AUTH PLAIN ${plain('', 'alice', 'correct horse')}`), refusal);
});

t.test('after STLS, CAPA offers USER and SASL PLAIN and USER/PASS logs in', async (t) => {
  const fx = await startPop3(t);
  await addUser(fx.ctx, 'alice', 'correct horse');
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  t.equal(await c.cmd('STLS'), '+OK Begin TLS negotiation');
  await c.startTls();
  const caps = await capa(c);
  t.ok(caps.includes('USER'));
  t.ok(caps.includes('SASL PLAIN'));
  t.notOk(caps.includes('STLS'), 'no second STLS');
  t.equal(await c.cmd('STLS'), '-ERR Already using TLS');
  t.match(await userPass(c, 'alice', 'correct horse'), /^\+OK alice has 0 messages \(0 octets\)$/);
});

t.test('commands pipelined behind STLS in the clear are discarded, not run inside TLS', async (t) => {
  const fx = await startPop3(t);
  await addUser(fx.ctx, 'alice', 'correct horse');
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  c.socket.write('STLS\r\nUSER alice\r\nPASS wrong one\r\n');
  t.equal(await c.line(), '+OK Begin TLS negotiation');
  await c.startTls();
  t.equal(await c.cmd('NOOP'), '-ERR Unknown command or not valid in the AUTHORIZATION state', 'first reply inside TLS is to our own command');
  t.equal(await c.cmd('PASS correct horse'), '-ERR Send USER first', 'the injected USER was forgotten');
});

t.test('the POP3S port speaks TLS from the first byte', async (t) => {
  const fx = await startPop3(t);
  await addUser(fx.ctx, 'alice', 'correct horse');
  const c = await LineClient.connect(fx.tlsPort, { tls: true });
  t.teardown(() => c.close());
  t.match(await c.line(), /^\+OK Yubin POP3 server ready </);
  const caps = await capa(c);
  t.ok(caps.includes('USER'));
  t.notOk(caps.includes('STLS'));
  t.match(await c.cmd(`AUTH PLAIN ${plain('', 'alice', 'correct horse')}`), /^\+OK alice has 0 messages/);
});

t.test('APOP logs in without TLS with the digest of the greeting timestamp and the APOP secret', async (t) => {
  const fx = await startPop3(t);
  await addUser(fx.ctx, 'alice', 'correct horse', 'apop secret');
  await addUser(fx.ctx, 'bob', 'battery staple');
  await putMessage(fx.ctx, 'alice', 'Subject: hi\n\nhello\n');
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  const ts = timestampOf(await c.line());
  t.equal(await c.cmd(`APOP alice ${apopDigest(ts, 'correct horse')}`), '-ERR [AUTH] Authentication failed', 'the login password is not the APOP secret');
  t.equal(await c.cmd(`APOP bob ${apopDigest(ts, 'battery staple')}`), '-ERR [AUTH] Authentication failed', 'APOP not enabled for bob');
  t.equal(await c.cmd(`APOP nobody ${apopDigest(ts, 'x')}`), '-ERR [AUTH] Authentication failed', 'unknown user: same reply');
  t.match(await c.cmd(`APOP alice ${apopDigest(ts, 'apop secret')}`), /^\+OK alice has 1 message \(\d+ octets\)$/);

  const d = await LineClient.connect(fx.port);
  t.teardown(() => d.close());
  const other = timestampOf(await d.line());
  t.not(other, ts, 'each connection has its own timestamp');
  t.equal(await d.cmd(`APOP alice ${apopDigest(ts, 'apop secret')}`), '-ERR [AUTH] Authentication failed', 'a digest replayed on another connection fails');
});

t.test('AUTH PLAIN with a continuation line, cancel, malformed input and a foreign authzid', async (t) => {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true' });
  await addUser(fx.ctx, 'alice', 'correct horse');
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  t.equal(await c.cmd('AUTH'), '+OK SASL mechanisms follow');
  t.same(await c.multi(), ['PLAIN']);
  t.equal(await c.cmd('AUTH CRAM-MD5'), '-ERR Unsupported SASL mechanism CRAM-MD5; this server offers PLAIN');
  t.equal(await c.cmd('AUTH PLAIN'), '+ ');
  t.equal(await c.cmd('*'), '-ERR SASL authentication cancelled');
  t.match(await c.cmd('AUTH PLAIN !!notbase64'), /^-ERR Malformed SASL PLAIN response/);
  t.equal(await c.cmd(`AUTH PLAIN ${plain('bob', 'alice', 'correct horse')}`), '-ERR [AUTH] Authentication failed', 'no logging in as someone else');
  t.equal(await c.cmd('AUTH PLAIN'), '+ ');
  t.match(await c.cmd(plain('alice', 'alice', 'correct horse')), /^\+OK alice has 0 messages/);
});

t.test('an unknown user and a wrong password get the same reply, and each failure is an auth.failed event', async (t) => {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true' });
  await addUser(fx.ctx, 'alice', 'correct horse');
  const events: EventMap['auth.failed'][] = [];
  fx.ctx.bus.on('auth.failed', (e) => events.push(e));
  const c = await LineClient.connect(fx.port, { localAddress: '127.0.0.3' });
  t.teardown(() => c.close());
  await c.line();
  t.equal(await c.cmd('USER nobody'), '+OK Send PASS for nobody', 'USER answers the same for any name');
  const unknown = await c.cmd('PASS whatever1');
  const wrong = await userPass(c, 'alice', 'wrong password');
  t.equal(unknown, '-ERR [AUTH] Authentication failed');
  t.equal(wrong, unknown);
  t.same(events, [
    { service: 'pop3', client: '127.0.0.3', user: 'nobody' },
    { service: 'pop3', client: '127.0.0.3', user: 'alice' },
  ]);
});

t.test('failures slow down: each failure reply from a client waits longer than the one before', async (t) => {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true', 'login.delayMs': '100' });
  const c = await LineClient.connect(fx.port, { localAddress: '127.0.0.4' });
  t.teardown(() => c.close());
  await c.line();
  const took: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    t.equal(await userPass(c, `guess${i}`, 'password'), '-ERR [AUTH] Authentication failed');
    took.push(performance.now() - started);
  }
  t.comment(`failure replies took ${took.map((x) => Math.round(x)).join(', ')} ms`);
  t.ok(took[0]! >= 95 && took[1]! >= 195 && took[2]! >= 395, 'at least 100, 200, 400 ms');
});

t.test('guessing a user\'s password locks that user out from the guessing address only: the owner logs in from theirs', async (t) => {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true', 'login.pairFailures': '3' });
  await addUser(fx.ctx, 'alice', 'correct horse');
  await addUser(fx.ctx, 'bob', 'battery staple');
  const events: EventMap['auth.failed'][] = [];
  fx.ctx.bus.on('auth.failed', (e) => events.push(e));
  const c = await LineClient.connect(fx.port, { localAddress: '127.0.0.5' });
  t.teardown(() => c.close());
  await c.line();
  for (let i = 0; i < 3; i++) t.equal(await userPass(c, 'alice', `wrong ${i}`), '-ERR [AUTH] Authentication failed');
  const locked = '-ERR [SYS/TEMP] Too many failed logins; try again later';
  t.equal(await userPass(c, 'alice', 'correct horse'), locked, 'the guessing address is refused even the right password');
  t.match(await userPass(c, 'bob', 'battery staple'), /^\+OK bob/, 'other users from that address are not locked by it');
  const d = await LineClient.connect(fx.port, { localAddress: '127.0.0.6' });
  t.teardown(() => d.close());
  await d.line();
  t.match(await userPass(d, 'alice', 'correct horse'), /^\+OK alice/, 'the owner, from another address, logs in');
  t.equal(events.length, 4, 'refusals during the lockout are failures too');
});

t.test('a client address is locked out after failures over many names', async (t) => {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true', 'login.sourceFailures': '3' });
  await addUser(fx.ctx, 'alice', 'correct horse');
  const c = await LineClient.connect(fx.port, { localAddress: '127.0.0.7' });
  t.teardown(() => c.close());
  await c.line();
  for (const name of ['root', 'admin', 'test']) t.equal(await userPass(c, name, 'password'), '-ERR [AUTH] Authentication failed');
  t.equal(await userPass(c, 'alice', 'correct horse'), '-ERR [SYS/TEMP] Too many failed logins; try again later');
  const d = await LineClient.connect(fx.port, { localAddress: '127.0.0.8' });
  t.teardown(() => d.close());
  await d.line();
  t.match(await userPass(d, 'alice', 'correct horse'), /^\+OK alice/, 'another address may log in');
});

t.test('client text echoed in a reply is printable ASCII only (no terminal escapes, no 8-bit: found by the fuzzer)', async (t) => {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true' });
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  t.equal(await c.cmd('USER a\x1b[2J\x7f\xe9'), '+OK Send PASS for a\\x1b[2J\\x7f\\xe9');
});
