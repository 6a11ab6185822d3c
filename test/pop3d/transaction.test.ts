import t from 'tap';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { maildirOf } from '../../src/maildir/maildir.ts';
import { startPop3, addUser, putMessage, LineClient, userPass, type Teardown } from './helpers.ts';

const FIRST = 'From: a@example.com\nSubject: one\n\nline 1\n.hidden dot line\nline 3\n';
const SECOND = 'From: b@example.com\nSubject: two\n\nbody\n';

async function mailbox(t: Teardown) {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true' });
  await addUser(fx.ctx, 'alice', 'correct horse');
  const first = await putMessage(fx.ctx, 'alice', FIRST);
  const second = await putMessage(fx.ctx, 'alice', SECOND);
  return { ...fx, first, second };
}

async function files(dataDir: string): Promise<string[]> {
  const root = maildirOf(dataDir, 'alice');
  return [...(await readdir(join(root, 'new'))), ...(await readdir(join(root, 'cur')))];
}

t.test('serves the maildrop: STAT, LIST, UIDL, TOP, RETR with CRLF octet counts and byte-stuffing', async (t) => {
  const fx = await mailbox(t);
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  t.match(await c.line(), /^\+OK .*<\d+\.\d+\.\d+\.[0-9a-f]+@yubin\.localdomain>$/, 'greeting carries an APOP timestamp');
  t.match(await userPass(c, 'alice', 'correct horse'), /^\+OK alice has 2 messages \(\d+ octets\)$/);

  const size1 = FIRST.replace(/\n/g, '\r\n').length;
  const size2 = SECOND.replace(/\n/g, '\r\n').length;
  t.equal(await c.cmd('STAT'), `+OK 2 ${size1 + size2}`, 'STAT counts octets of the CRLF form');
  t.match(await c.cmd('LIST'), /^\+OK/);
  t.same(await c.multi(), [`1 ${size1}`, `2 ${size2}`]);
  t.equal(await c.cmd('LIST 2'), `+OK 2 ${size2}`);
  t.match(await c.cmd('UIDL'), /^\+OK/);
  const uids = await c.multi();
  t.same(uids.map((l) => l.split(' ')[0]), ['1', '2']);
  t.ok(uids.every((l) => /^\d [\x21-\x7e]{1,70}$/.test(l)), 'UIDs are 1-70 printable characters');
  t.equal(uids[0]!.split(' ')[1], fx.first.split(',')[0], 'UID is the Maildir base name');

  t.equal(await c.cmd('TOP 1 1'), '+OK top of message follows');
  t.same(await c.multi(), ['From: a@example.com', 'Subject: one', '', 'line 1'], 'TOP: header, blank line, n body lines');
  t.equal(await c.cmd('TOP 1 0'), '+OK top of message follows');
  t.same(await c.multi(), ['From: a@example.com', 'Subject: one', '']);

  c.socket.write('RETR 1\r\n');
  t.equal(await c.line(), `+OK ${size1} octets`);
  const raw: string[] = [];
  for (let l = await c.line(); l !== '.'; l = await c.line()) raw.push(l ?? '<closed>');
  t.same(raw, ['From: a@example.com', 'Subject: one', '', 'line 1', '..hidden dot line', 'line 3'], 'a line starting with "." is sent as ".."');

  t.equal(await c.cmd('RETR 3'), '-ERR no such message, only 2 in maildrop');
  t.equal(await c.cmd('RETR x'), '-ERR Invalid message number "x"');
  t.equal(await c.cmd('NOOP'), '+OK');
  t.equal(await c.cmd('QUIT'), '+OK Yubin POP3 server signing off (2 messages left)');
  t.equal(await c.line(), null, 'server closes after QUIT');
});

t.test('UIDL is the same in the next session', async (t) => {
  const fx = await mailbox(t);
  const uidl = async () => {
    const c = await LineClient.connect(fx.port);
    await c.line();
    await userPass(c, 'alice', 'correct horse');
    await c.cmd('RETR 1');
    await c.multi();
    await c.cmd('UIDL');
    const list = await c.multi();
    await c.cmd('QUIT');
    c.close();
    return list;
  };
  const before = await uidl();
  t.same(await uidl(), before, 'retrieving (new/ to cur/) does not change UIDs');
  t.ok((await files(fx.dir)).some((f) => f.endsWith(':2,S')), 'a retrieved message moved to cur/ as Seen');
});

t.test('DELE only marks: RSET unmarks, QUIT removes in UPDATE', async (t) => {
  const fx = await mailbox(t);
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  await userPass(c, 'alice', 'correct horse');
  t.equal(await c.cmd('DELE 1'), '+OK message 1 deleted');
  t.equal(await c.cmd('DELE 1'), '-ERR message 1 already deleted');
  t.equal(await c.cmd('RETR 1'), '-ERR message 1 already deleted');
  t.match(await c.cmd('STAT'), /^\+OK 1 \d+$/, 'a marked message leaves STAT');
  t.match(await c.cmd('RSET'), /^\+OK maildrop has 2 messages/);
  t.equal(await c.cmd('DELE 2'), '+OK message 2 deleted');
  t.equal((await files(fx.dir)).length, 2, 'nothing removed before QUIT');
  t.equal(await c.cmd('QUIT'), '+OK Yubin POP3 server signing off (1 message left)');
  const left = await files(fx.dir);
  t.equal(left.length, 1);
  t.ok(left[0]!.startsWith(fx.first.split(',')[0]!), 'message 2 was removed, message 1 kept');
});

t.test('a session cut after DELE deletes nothing', async (t) => {
  const fx = await mailbox(t);
  const c = await LineClient.connect(fx.port);
  await c.line();
  await userPass(c, 'alice', 'correct horse');
  t.equal(await c.cmd('DELE 1'), '+OK message 1 deleted');
  t.equal(await c.cmd('DELE 2'), '+OK message 2 deleted');
  c.close();
  // The lock is released when the server sees the close; then a new session sees both messages.
  const d = await LineClient.connect(fx.port);
  t.teardown(() => d.close());
  await d.line();
  let reply: string | null = null;
  for (let i = 0; i < 50; i++) {
    reply = await userPass(d, 'alice', 'correct horse');
    if (!reply?.includes('[IN-USE]')) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.match(reply, /^\+OK alice has 2 messages/);
  t.equal((await files(fx.dir)).length, 2);
});

t.test('a second concurrent session is refused with IN-USE, and may log in once the first ends', async (t) => {
  const fx = await mailbox(t);
  const a = await LineClient.connect(fx.port);
  const b = await LineClient.connect(fx.port);
  t.teardown(() => {
    a.close();
    b.close();
  });
  await a.line();
  await b.line();
  t.match(await userPass(a, 'alice', 'correct horse'), /^\+OK/);
  t.equal(await userPass(b, 'alice', 'correct horse'), '-ERR [IN-USE] The mailbox is in use by another POP3 session');
  t.equal(await b.cmd('STAT'), '-ERR Unknown command or not valid in the AUTHORIZATION state', 'still in AUTHORIZATION');
  t.match(await a.cmd('QUIT'), /^\+OK/);
  t.match(await userPass(b, 'alice', 'correct horse'), /^\+OK alice has 2 messages/);
});

t.test('commands outside their state and malformed commands get specific errors', async (t) => {
  const fx = await mailbox(t);
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  t.equal(await c.cmd('RETR 1'), '-ERR Unknown command or not valid in the AUTHORIZATION state');
  t.equal(await c.cmd('PASS x'), '-ERR Send USER first');
  t.equal(await c.cmd('APOP alice'), '-ERR Usage: APOP name digest');
  t.equal(await c.cmd('X'.repeat(300)), '-ERR Command line too long (RFC 2449: at most 255 octets)');
  t.equal(await c.cmd('NOOP'), '-ERR Unknown command or not valid in the AUTHORIZATION state');
  await userPass(c, 'alice', 'correct horse');
  t.equal(await c.cmd('USER alice'), '-ERR Unknown command or not valid in the TRANSACTION state');
  t.equal(await c.cmd('TOP 1'), '-ERR Usage: TOP msg lines');
  t.equal(await c.cmd('LIST 0'), '-ERR Invalid message number "0"');
});

t.test('too many bad commands close the session', async (t) => {
  const fx = await mailbox(t);
  const c = await LineClient.connect(fx.port);
  t.teardown(() => c.close());
  await c.line();
  for (let i = 0; i < 9; i++) t.match(await c.cmd('BOGUS'), /^-ERR Unknown command/);
  t.match(await c.cmd('BOGUS'), /too many bad commands, closing$/);
  t.equal(await c.line(), null);
});

t.test('RETR streams a large message intact, byte-stuffed, in a pipelined session', async (t) => {
  const fx = await mailbox(t);
  // 4 MiB of 100-octet lines, every tenth starting with a dot.
  const lines: string[] = [];
  for (let i = 0; lines.length * 100 < 4 * 1024 * 1024; i++) lines.push((i % 10 === 0 ? '.' : 'x') + String(i).padStart(97, '-'));
  const big = `Subject: big\n\n${lines.join('\n')}\n`;
  await putMessage(fx.ctx, 'alice', big);
  const socket = connect({ host: '127.0.0.1', port: fx.port });
  t.teardown(() => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.write('USER alice\r\nPASS correct horse\r\nRETR 3\r\nQUIT\r\n');
  const started = performance.now();
  await Promise.race([once(socket, 'close'), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 20_000).unref())]);
  const text = Buffer.concat(chunks).toString('latin1');
  const begin = text.indexOf('+OK', text.indexOf('octets)') + 1);
  const headerEnd = text.indexOf('\r\n', begin) + 2;
  const end = text.indexOf('\r\n.\r\n', headerEnd) + 2;
  t.equal(text.slice(begin, headerEnd), `+OK ${big.replace(/\n/g, '\r\n').length} octets\r\n`);
  const body = text.slice(headerEnd, end).split('\r\n').map((l) => (l.startsWith('.') ? l.slice(1) : l)).join('\r\n');
  t.ok(body === big.replace(/\n/g, '\r\n'), 'the un-stuffed body equals the stored message');
  t.match(text.slice(end), /^\.\r\n\+OK Yubin POP3 server signing off \(3 messages left\)\r\n$/);
  t.comment(`4 MiB RETR took ${Math.round(performance.now() - started)} ms`);
});
