// RETR and TOP read a message in chunks of CHUNK bytes and write each with the status line and the
// terminator where they fit: these tests put the edges that chunking could break (a '.' line or a
// CRLF across a chunk boundary, a last line without CRLF, a Maildir size that lies) in real files
// and compare what a client receives byte for byte, reading synchronously and through the thread
// pool. Then: a slow client is not buffered for, and the file opened ahead is always closed.
import t from 'tap';
import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { open, rename, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { maildirOf, uniqueName, ensureMaildir } from '../../src/maildir/maildir.ts';
import { CHUNK, fileCalls, MessageFile, SyncWhileFast } from '../../src/pop3d/message-file.ts';
import { startPop3, addUser, type Pop3Fixture, type Teardown } from './helpers.ts';

/** Exactly `size` octets (at least 62) of CRLF lines of 'x'. */
function lines(size: number): string {
  const n = Math.floor(size / 60);
  const rem = size - n * 60;
  const full = `${'x'.repeat(58)}\r\n`.repeat(n);
  if (rem === 1) return `${full.slice(0, -2)}x\r\n`;
  return rem === 0 ? full : `${full}${'x'.repeat(rem - 2)}\r\n`;
}

const header = 'From: a@example.com\r\nSubject: edges\r\n\r\n';

/** The messages, in maildrop order, with what each tests. */
const MESSAGES: Array<{ what: string; text: string; sizeInName?: number }> = [
  { what: "a '.' line starting at the chunk boundary", text: `${header}${lines(CHUNK - header.length)}.dot at the boundary\r\nafter\r\n` },
  { what: 'CR before and LF after the chunk boundary, then a dot line', text: `${header}${lines(CHUNK - header.length - 2)}y\r\n.\r\n.x\r\nend\r\n` },
  { what: "a last line '.' without CRLF, three chunks in", text: `${header}${lines(2 * CHUNK + 100)}.` },
  { what: 'an empty file', text: '' },
  { what: 'a name whose S= is smaller than the file', text: `${header}${lines(CHUNK + 5000)}.last\r\n`, sizeInName: 10 },
  { what: 'a name whose S= is larger than the file', text: `${header}.one line\r\n`, sizeInName: 3 * CHUNK },
  { what: 'a header longer than a chunk (TOP)', text: `X-Long: ${'h'.repeat(CHUNK)}\r\nSubject: long\r\n\r\n.b1\r\nb2\r\n` },
];

/** A mailbox holding MESSAGES, and their file names in maildrop order. */
async function mailbox(t: Teardown): Promise<Pop3Fixture & { names: string[] }> {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true' });
  await addUser(fx.ctx, 'alice', 'correct horse');
  const root = maildirOf(fx.dir, 'alice');
  await ensureMaildir(root);
  const names: string[] = [];
  for (const m of MESSAGES) {
    // Written straight into new/ with the size we choose for the name (names sort by time).
    const bytes = Buffer.from(m.text, 'latin1');
    names.push(`${uniqueName('test.example')},S=${m.sizeInName ?? bytes.length}`);
    await writeFile(join(root, 'new', names.at(-1)!), bytes);
    await new Promise((r) => setTimeout(r, 2));
  }
  return { ...fx, names };
}

/** Send the commands in one write (pipelined), then QUIT; the replies after the greeting, USER and PASS. */
async function session(port: number, commands: string[]): Promise<Array<{ status: string; body?: string }>> {
  const socket = connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.write(['USER alice', 'PASS correct horse', ...commands, 'QUIT'].map((c) => `${c}\r\n`).join(''));
  await Promise.race([once(socket, 'close'), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 20_000).unref())]);
  return replies(Buffer.concat(chunks).toString('latin1')).slice(3);
}

/** Split a session's output into replies: one-line replies, and multi-line ones un-stuffed. */
function replies(text: string): Array<{ status: string; body?: string }> {
  const out: Array<{ status: string; body?: string }> = [];
  let at = 0;
  while (at < text.length) {
    const eol = text.indexOf('\r\n', at);
    const status = text.slice(at, eol);
    at = eol + 2;
    if (!/^\+OK (\d+ octets|top of message follows)$/.test(status)) {
      out.push({ status });
      continue;
    }
    // The body ends at the first line that is '.' alone (searching from the status line's CRLF).
    const end = text.indexOf('\r\n.\r\n', at - 2);
    const raw = text.slice(at, end + 2);
    out.push({ status, body: raw.split('\r\n').map((l) => (l.startsWith('.') ? l.slice(1) : l)).join('\r\n') });
    at = end + 5;
  }
  return out;
}

/** What RETR must deliver for `text`: the message, with a CRLF added when its last line lacks one. */
function delivered(text: string): string {
  return text === '' || text.endsWith('\r\n') ? text : `${text}\r\n`;
}

t.test('file calls go through the thread pool for a while once synchronous ones turn slow', async (t) => {
  let now = 0;
  const calls = new SyncWhileFast({ slowMs: 2, slowInARow: 3, stuckMs: 50, asyncForMs: 30_000 }, () => now);
  const call = (ms: number) => calls.run(() => ((now += ms), 'read'));
  t.ok(calls.sync, 'synchronous at first');
  t.equal(call(1), 'read', 'the call\'s result');
  call(5);
  call(5);
  call(1);
  call(5);
  t.ok(calls.sync, 'slow calls between fast ones (the process descheduled) keep them synchronous');
  call(5);
  call(5);
  t.notOk(calls.sync, 'three slow calls in a row: the thread pool');
  now += 29_990;
  t.notOk(calls.sync, 'for the whole period');
  now += 20;
  t.ok(calls.sync, 'then synchronous again');
  call(60);
  t.notOk(calls.sync, 'one call stuck for longer than 50 ms is enough');
  calls.useThreadPoolFor(0);
  t.throws(() => calls.run(() => {
    now += 60;
    throw new Error('EIO');
  }), /EIO/);
  t.notOk(calls.sync, 'a slow call that failed counts too');
});

for (const mode of ['synchronous reads', 'thread-pool reads'] as const) {
  t.test(`RETR and TOP give every edge byte for byte (${mode})`, async (t) => {
    fileCalls.useThreadPoolFor(mode === 'thread-pool reads' ? Infinity : 0);
    t.teardown(() => fileCalls.useThreadPoolFor(0));
    const fx = await mailbox(t);
    const n = MESSAGES.length;
    const retrs = MESSAGES.map((_, i) => `RETR ${i + 1}`);
    const got = await session(fx.port, retrs);
    for (let i = 0; i < n; i++) {
      const m = MESSAGES[i]!;
      const r = got[i]!;
      const octets = Number(fx.names[i]!.split(',S=')[1]);
      t.equal(r.status, `+OK ${octets} octets`, `${m.what}: the octet count of the name`);
      t.ok(r.body === delivered(m.text), `${m.what}: the body arrives exact`);
    }
    t.match(got.at(-1)?.status, /^\+OK Yubin POP3 server signing off/);
  });

  t.test(`RETR out of order, after RETR, and TOP across a chunk (${mode})`, async (t) => {
    fileCalls.useThreadPoolFor(mode === 'thread-pool reads' ? Infinity : 0);
    t.teardown(() => fileCalls.useThreadPoolFor(0));
    const fx = await mailbox(t);
    // RETR 1 opens message 2 ahead; RETR 3 must not get it, nor RETR 2 after TOP 2 took it.
    const got = await session(fx.port, ['RETR 1', 'RETR 3', 'RETR 2', 'RETR 1', 'TOP 2 1', 'RETR 2', 'TOP 7 1', 'TOP 7 0', 'RETR 6', 'DELE 7', 'RETR 7']);
    const body = (i: number) => delivered(MESSAGES[i - 1]!.text);
    [1, 3, 2, 1].forEach((k, i) => t.ok(got[i]!.body === body(k), `RETR ${k}, command ${i + 1}: its own message`));
    const two = MESSAGES[1]!.text;
    t.equal(got[4]!.body, two.slice(0, two.indexOf('\r\n\r\n') + 4) + two.split('\r\n')[3] + '\r\n', 'TOP 2 1: the header, the blank line, one line');
    t.ok(got[5]!.body === body(2), 'RETR 2 after TOP 2 is whole');
    const seven = MESSAGES[6]!.text;
    t.ok(got[6]!.body === seven.slice(0, seven.indexOf('\r\n\r\n') + 4) + '.b1\r\n', 'TOP of a header longer than a chunk');
    t.ok(got[7]!.body === seven.slice(0, seven.indexOf('\r\n\r\n') + 4), 'TOP n 0 of it');
    t.ok(got[8]!.body === body(6), 'S= larger than the file: the file as it is');
    t.equal(got[9]!.status, '+OK message 7 deleted');
    t.equal(got[10]!.status, '-ERR message 7 already deleted', 'a message opened ahead and then deleted is refused');
  });
  t.test(`a read that fails is reported to RETR, and unawaited is no unhandled rejection (${mode})`, async (t) => {
    fileCalls.useThreadPoolFor(mode === 'thread-pool reads' ? Infinity : 0);
    t.teardown(() => fileCalls.useThreadPoolFor(0));
    const fx = await mailbox(t);
    // A folder where a message file should be: open succeeds, read fails (EISDIR).
    const root = maildirOf(fx.dir, 'alice');
    await mkdir(join(root, 'new', `${uniqueName('test.example')},S=100`));
    const unhandled: unknown[] = [];
    const record = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', record);
    t.teardown(() => process.off('unhandledRejection', record));
    const file = await MessageFile.open(join(root, 'new'), 100);
    const read = file.read();
    file.close();
    await new Promise((r) => setTimeout(r, 50));
    t.same(unhandled, [], 'nobody awaited the failed read, and nothing is unhandled');
    await t.rejects(read, { code: 'EISDIR' }, 'whoever awaits it gets the error');
    const got = await session(fx.port, ['RETR 8', 'RETR 7', 'RETR 8', 'STAT']);
    t.equal(got[0]!.status, '-ERR [SYS/TEMP] The message is no longer in the mailbox');
    t.ok(got[1]!.body === delivered(MESSAGES[6]!.text), 'the session goes on');
    t.equal(got[2]!.status, '-ERR [SYS/TEMP] The message is no longer in the mailbox', 'read ahead after RETR 7: the same');
    t.match(got[3]!.status, /^\+OK 8 /);
    t.same(unhandled, []);
  });
}

/** Open descriptors of this process (the POP3 service runs in it), once no session is left. */
async function openFds(fx: Pop3Fixture): Promise<number> {
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const now = readdirSync('/proc/self/fd').length;
    if (now === last && fx.service.sessionCount() === 0) return now;
    last = now;
    await new Promise((r) => setTimeout(r, 30));
  }
  return last;
}

t.test('the file opened ahead is closed whatever the session does next', async (t) => {
  const fx = await mailbox(t);
  await session(fx.port, []);
  const before = await openFds(fx);
  await session(fx.port, ['RETR 1']); // ahead: message 2, then QUIT
  await session(fx.port, ['RETR 1', 'RETR 5']); // ahead: 2, not taken
  await session(fx.port, ['RETR 2', 'DELE 3']); // ahead: 3, deleted, QUIT removes its file
  // Cut without QUIT, with message 2 opened ahead.
  const c = connect({ host: '127.0.0.1', port: fx.port });
  c.write('USER alice\r\nPASS correct horse\r\nRETR 1\r\n');
  let got = '';
  c.on('data', (d: Buffer) => (got += d.toString('latin1')));
  while (!got.includes('\r\n.\r\n')) await once(c, 'data');
  c.destroy();
  t.equal(await openFds(fx), before, 'no descriptor left open');
});

t.test('a client that stops reading is not buffered for: the file is read as the socket drains', async (t) => {
  const fx = await startPop3(t, { 'pop3.allowCleartext': 'true' });
  await addUser(fx.ctx, 'alice', 'correct horse');
  const root = maildirOf(fx.dir, 'alice');
  await ensureMaildir(root);
  // 32 MiB written 1 MiB at a time from one buffer, so no large garbage skews the measure below.
  const size = 32 * 1024 * 1024;
  const tmp = join(root, 'tmp', 'big');
  const file = await open(tmp, 'w');
  await file.write('Subject: big\r\n\r\n');
  const mib = Buffer.from(lines(1024 * 1024), 'latin1');
  for (let i = 0; i < 31; i++) await file.write(mib);
  await file.write(lines(size - 16 - 31 * mib.length));
  await file.close();
  await rename(tmp, join(root, 'new', `${uniqueName('test.example')},S=${size}`));

  const socket: Socket = connect({ host: '127.0.0.1', port: fx.port });
  t.teardown(() => socket.destroy());
  let received = 0;
  let tail = '';
  socket.on('data', (d: Buffer) => {
    received += d.length;
    tail = (tail + d.toString('latin1')).slice(-64);
  });
  await once(socket, 'connect');
  socket.write('USER alice\r\nPASS correct horse\r\n');
  while (!tail.includes('octets)')) await once(socket, 'data');
  const before = process.memoryUsage().arrayBuffers;
  socket.pause();
  socket.write('RETR 1\r\n');
  await new Promise((r) => setTimeout(r, 1500));
  const grown = process.memoryUsage().arrayBuffers - before;
  t.ok(grown < 12 * 1024 * 1024, `buffers grew by ${(grown / 1024 / 1024).toFixed(1)} MiB for a paused client and a 32 MiB message`);
  socket.resume();
  const started = performance.now();
  while (!tail.endsWith('\r\n.\r\n') && performance.now() - started < 30_000) await once(socket, 'data');
  t.ok(tail.endsWith('\r\n.\r\n'), 'the whole message arrives once the client reads');
  t.ok(received > size, `${received} octets received`);
});
