// Python's poplib (stdlib) as the real client: APOP, STLS, USER/PASS, UIDL, TOP, RETR, DELE + QUIT.
import t from 'tap';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { maildirOf } from '../../src/maildir/maildir.ts';
import { startPop3, addUser, putMessage, run, type Teardown } from './helpers.ts';

const PYTHON = '/usr/bin/python3';
type TestT = Parameters<Parameters<typeof t.test>[0]>[0];

// One script, the steps chosen by argv; prints one JSON object with what the client saw.
const SCRIPT = String.raw`
import json, poplib, ssl, sys
mode, port, user, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = {}
if mode == 'pop3s':
    p = poplib.POP3_SSL('127.0.0.1', port, context=ctx, timeout=10)
else:
    p = poplib.POP3('127.0.0.1', port, timeout=10)
out['welcome'] = p.getwelcome().decode()
if mode == 'apop':
    out['login'] = p.apop(user, secret).decode()
else:
    if mode == 'stls':
        out['stls'] = p.stls(context=ctx).decode()
    out['capa'] = sorted(p.capa().keys())
    p.user(user)
    out['login'] = p.pass_(secret).decode()
out['stat'] = list(p.stat())
out['uidl'] = [l.decode() for l in p.uidl()[1]]
out['uidl1'] = p.uidl(1).decode()
out['top'] = [l.decode() for l in p.top(1, 1)[1]]
resp, lines, octets = p.retr(1)
out['retr'] = {'resp': resp.decode(), 'lines': [l.decode() for l in lines], 'octets': octets}
out['dele'] = p.dele(1).decode()
out['quit'] = p.quit().decode()
print(json.dumps(out))
`;

const MESSAGE = 'From: sender@example.com\nTo: alice@localhost\nSubject: poplib\n\nfirst body line\n.starts with a dot\nlast\n';

async function poplib(mode: 'apop' | 'stls' | 'pop3s' | 'user', port: number, user: string, secret: string) {
  const { stdout } = await run(PYTHON, ['-c', SCRIPT, mode, String(port), user, secret], { timeout: 20_000 });
  return JSON.parse(stdout) as {
    welcome: string; login: string; stls?: string; capa?: string[]; stat: [number, number]; uidl: string[]; uidl1: string;
    top: string[]; retr: { resp: string; lines: string[]; octets: number }; dele: string; quit: string;
  };
}

async function fixture(t: Teardown, settings: Record<string, string> = {}) {
  const fx = await startPop3(t, settings);
  await addUser(fx.ctx, 'alice', 'correct horse', 'apop secret');
  const first = await putMessage(fx.ctx, 'alice', MESSAGE);
  await putMessage(fx.ctx, 'alice', 'Subject: second\n\nkept\n');
  const remaining = async () => {
    const root = maildirOf(fx.dir, 'alice');
    return [...(await readdir(join(root, 'new'))), ...(await readdir(join(root, 'cur')))];
  };
  return { ...fx, first, remaining };
}

function checkSession(t: TestT, r: Awaited<ReturnType<typeof poplib>>, first: string) {
  const size = MESSAGE.replace(/\n/g, '\r\n').length;
  t.match(r.login, /^\+OK alice has 2 messages/);
  t.equal(r.stat[0], 2);
  t.equal(r.uidl.length, 2);
  t.equal(r.uidl1, `+OK 1 ${first.split(',')[0]}`, 'UIDL 1 is the Maildir base name');
  t.same(r.top, ['From: sender@example.com', 'To: alice@localhost', 'Subject: poplib', '', 'first body line']);
  t.equal(r.retr.resp, `+OK ${size} octets`);
  t.same(r.retr.lines.slice(-3), ['first body line', '.starts with a dot', 'last'], 'the dot-stuffed line arrives intact');
  t.equal(r.retr.octets, size, 'the octets poplib counts after un-stuffing match the count in +OK');
  t.equal(r.dele, '+OK message 1 deleted');
  t.equal(r.quit, '+OK Yubin POP3 server signing off (1 message left)');
}

t.test('poplib: APOP, UIDL, TOP, RETR, DELE and QUIT on a plain connection', async (t) => {
  const fx = await fixture(t);
  const r = await poplib('apop', fx.port, 'alice', 'apop secret');
  t.match(r.welcome, /^\+OK Yubin POP3 server ready <.+@yubin\.localdomain>$/);
  checkSession(t, r, fx.first);
  const left = await fx.remaining();
  t.equal(left.length, 1, 'the deleted message is gone after QUIT');
  t.notOk(left[0]!.startsWith(fx.first.split(',')[0]!), 'and it was message 1');
});

t.test('poplib: APOP with a wrong secret raises error_proto with the [AUTH] code', async (t) => {
  const fx = await fixture(t);
  await t.rejects(poplib('apop', fx.port, 'alice', 'not the secret'), /error_proto: b'-ERR \[AUTH\] Authentication failed'/);
  t.equal((await fx.remaining()).length, 2);
});

t.test('poplib: STLS, then USER/PASS', async (t) => {
  const fx = await fixture(t);
  const r = await poplib('stls', fx.port, 'alice', 'correct horse');
  t.equal(r.stls, '+OK Begin TLS negotiation');
  t.ok(r.capa?.includes('USER'), 'USER offered inside TLS');
  checkSession(t, r, fx.first);
});

t.test('poplib: POP3 over implicit TLS (POP3S)', async (t) => {
  const fx = await fixture(t);
  const r = await poplib('pop3s', fx.tlsPort, 'alice', 'correct horse');
  checkSession(t, r, fx.first);
});

t.test('poplib: USER/PASS without TLS is refused unless pop3.allowCleartext is set', async (t) => {
  const fx = await fixture(t);
  await t.rejects(poplib('user', fx.port, 'alice', 'correct horse'), /-ERR \[AUTH\] Cleartext logins are disabled/);
  await fx.ctx.store.set('pop3.allowCleartext', 'true');
  const r = await poplib('user', fx.port, 'alice', 'correct horse');
  t.ok(r.capa?.includes('USER'), 'USER now offered');
  checkSession(t, r, fx.first);
});
