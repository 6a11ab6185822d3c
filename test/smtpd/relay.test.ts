// The relay table end to end, driven by swaks from inside (127.0.0.1) and outside (127.0.0.2) hosts.
import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startInProcess } from '../support/firmware.ts';
import { swaks, swaksReply, RawSmtp } from '../support/clients.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';

const fw = await startInProcess(t, { trustedNetworks: ['127.0.0.1/32'] }, [{ name: 'alice', password: 'alice-password-1' }, { name: 'bob', password: 'bob-password-1' }]);
const port = fw.smtp.ports().mta!;
const submission = fw.smtp.ports().submission!;
const denied: string[] = [];
fw.ctx.bus.on('relay.denied', (e) => denied.push(e.rcpt));

const outside = (to: string, extra: string[] = []) =>
  swaks(['--server', '127.0.0.1', '--port', String(port), '--local-interface', '127.0.0.2', '--from', 'someone@outside.example', '--to', to, '--quit-after', 'RCPT', ...extra]);

t.test('row 1: anyone may send to a local domain, and it lands in the right Maildir', async (t) => {
  const r = await swaks(['--server', '127.0.0.1', '--port', String(port), '--local-interface', '127.0.0.2', '--from', 'someone@outside.example', '--to', 'alice@yubin.test', '--header', 'Subject: row one']);
  t.equal(r.code, 0, r.stdout);
  t.match(swaksReply(r.stdout, '.'), /^250 2\.0\.0 Ok: queued as [0-9A-Z]{19}$/);
  await fw.qmgr.whenIdle();
  const dir = join(maildirOf(fw.ctx.dataDir, 'alice'), 'new');
  const files = await readdir(dir);
  t.equal(files.length, 1, 'one message in alice/new');
  const text = await readFile(join(dir, files[0]!), 'utf8');
  t.match(text, /^Return-Path: <someone@outside\.example>\r\nDelivered-To: alice@yubin\.test\r\n/);
  t.match(text, /\r\nReceived: from outside|\r\nReceived: from vm|\r\nReceived: from /, 'our Received header');
  t.match(text, /Subject: row one/);
  t.same(await readdir(join(maildirOf(fw.ctx.dataDir, 'bob'), 'new')).catch(() => []), [], 'bob got nothing');
});

t.test('row 3: refuses relay to a foreign domain from an outside client with 554 5.7.1', async (t) => {
  const r = await outside('victim@foreign.example');
  t.match(swaksReply(r.stdout, 'RCPT'), /^554 5\.7\.1 <victim@foreign\.example>: Relay access denied/);
  t.ok(denied.includes('victim@foreign.example'), 'relay.denied event emitted');
});

t.test('refuses every sender-specified routing form from an outside client', async (t) => {
  const forms = [
    'victim%foreign.example@yubin.test',
    'foreign.example!victim@yubin.test',
    '"victim@foreign.example"@yubin.test',
    '@yubin.test:victim@foreign.example',
    'victim@foreign.example.',
    'alice@yubin.test.',
    'victim@192.0.2.1',
    'victim@[192.0.2.1]',
    'VICTIM%FOREIGN.EXAMPLE@YUBIN.TEST',
    'victim@FOREIGN.example',
  ];
  for (const to of forms) {
    const r = await outside(to);
    t.match(swaksReply(r.stdout, 'RCPT'), /^(554 5\.7\.1|501 5\.1\.3|553 5\.1\.3) /, `refused: ${to}`);
  }
});

t.test('unknown local recipient gets 550 5.1.1 at RCPT', async (t) => {
  const r = await outside('nobody@yubin.test');
  t.match(swaksReply(r.stdout, 'RCPT'), /^550 5\.1\.1 /);
});

t.test('domain comparison ignores case: ALICE@YUBIN.TEST is local', async (t) => {
  const r = await outside('ALICE@YUBIN.TEST');
  t.match(swaksReply(r.stdout, 'RCPT'), /^250 /);
});

t.test('row 2: a trusted-network client may relay to any domain', async (t) => {
  const r = await swaks(['--server', '127.0.0.1', '--port', String(port), '--local-interface', '127.0.0.1', '--from', 'alice@yubin.test', '--to', 'friend@foreign.example', '--quit-after', 'RCPT']);
  t.match(swaksReply(r.stdout, 'RCPT'), /^250 /, 'relay allowed');
});

t.test('row 2: an authenticated client on submission may relay, only after TLS', async (t) => {
  const plain = await swaks(['--server', '127.0.0.1', '--port', String(submission), '--local-interface', '127.0.0.2', '--from', 'alice@yubin.test', '--to', 'friend@foreign.example', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 'alice-password-1', '--quit-after', 'RCPT']);
  t.notMatch(plain.stdout, /235 /, 'no AUTH without TLS');
  t.notMatch(plain.stdout, /250-AUTH/, 'AUTH not even offered before TLS');
  const r = await swaks(['--server', '127.0.0.1', '--port', String(submission), '--local-interface', '127.0.0.2', '--tls', '--from', 'alice@yubin.test', '--to', 'friend@foreign.example', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 'alice-password-1', '--quit-after', 'RCPT']);
  t.match(swaksReply(r.stdout, 'AUTH'), /^235 2\.7\.0/, 'AUTH ok');
  t.match(swaksReply(r.stdout, 'RCPT'), /^250 /, 'relay allowed');
});

t.test('submission requires AUTH', async (t) => {
  const r = await swaks(['--server', '127.0.0.1', '--port', String(submission), '--local-interface', '127.0.0.2', '--tls', '--from', 'alice@yubin.test', '--to', 'friend@foreign.example', '--quit-after', 'RCPT']);
  t.match(swaksReply(r.stdout, 'MAIL'), /^530 /);
});

t.test('an authenticated user may only send as its own address (553 5.7.1)', async (t) => {
  const r = await swaks(['--server', '127.0.0.1', '--port', String(submission), '--local-interface', '127.0.0.2', '--tls', '--from', 'bob@yubin.test', '--to', 'friend@foreign.example', '--auth', 'LOGIN', '--auth-user', 'alice', '--auth-password', 'alice-password-1', '--quit-after', 'RCPT']);
  t.match(swaksReply(r.stdout, 'MAIL'), /^553 5\.7\.1 <bob@yubin\.test>: Sender address rejected: not owned by user alice/);
});

t.test('a bad password gets 535 5.7.8 and an auth.failed event', async (t) => {
  const failed = fw.ctx.bus.once('auth.failed');
  const r = await swaks(['--server', '127.0.0.1', '--port', String(submission), '--local-interface', '127.0.0.3', '--tls', '--from', 'alice@yubin.test', '--to', 'x@foreign.example', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 'wrong', '--quit-after', 'AUTH']);
  t.match(swaksReply(r.stdout, 'AUTH'), /^535 5\.7\.8/);
  t.match(await failed, { service: 'smtp', client: '127.0.0.3', user: 'alice' });
});

t.test('XCLIENT, XFORWARD and PROXY are not offered or obeyed', async (t) => {
  const c = await RawSmtp.open(port, '127.0.0.2');
  await c.reply();
  const ehlo = await c.command('EHLO outside.example');
  t.notMatch(ehlo, /XCLIENT|XFORWARD/);
  t.match(await c.command('XCLIENT ADDR=127.0.0.1'), /^5\d\d /);
  t.match(await c.command('MAIL FROM:<a@outside.example>'), /^250 /);
  t.match(await c.command('RCPT TO:<victim@foreign.example>'), /^554 5\.7\.1/, 'still an outside client');
  c.close();
});
