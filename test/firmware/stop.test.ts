// Stopping the appliance: on SIGTERM the listeners close, idle SMTP sessions get 421 4.3.2 and
// POP3 sessions -ERR at once, sessions in DATA get smtp.shutdownGrace and then a 421, nothing
// acknowledged is lost, and the process exits 0. On the stdio console Ctrl-C only clears the line
// (and says how to stop); `shutdown` stops the appliance.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, startChild, repo, BASE_SETTINGS, type ChildFirmware } from '../support/firmware.ts';
import { run, RawSmtp } from '../support/clients.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';

const GRACE_S = 5; // smtp.shutdownGrace's default
const inbox = (dataDir: string) => readdir(join(maildirOf(dataDir, 'alice'), 'new')).then((f) => f.length, () => 0);

async function waitFor(what: string, check: () => unknown, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A session up to `stage`: 'idle' after EHLO, 'data' after DATA's 354 and half a message. */
async function session(fw: ChildFirmware, n: number, stage: 'idle' | 'data'): Promise<RawSmtp> {
  // Each client its own address and network: smtp.maxConnectionsPerClient is 20, per /24 50.
  const c = await RawSmtp.open(fw.ports.smtp!, `127.${n}.0.9`);
  await c.reply();
  await c.command('EHLO client.example');
  if (stage === 'data') {
    await c.command('MAIL FROM:<sender@outside.example>');
    await c.command('RCPT TO:<alice@yubin.test>');
    t.match(await c.command('DATA'), /^354 /);
    c.send(`Subject: in flight ${n}\r\n\r\n${'half a message\r\n'.repeat(200)}`);
  }
  return c;
}

t.test('SIGTERM with 50 idle and 5 mid-DATA SMTP clients: exits within the grace, losing nothing', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS }, [{ name: 'alice', password: 'alice-password-1' }]);
  const fw = await startChild(dataDir);
  t.teardown(() => void fw.child.kill('SIGKILL'));

  // Acknowledged before the signal.
  for (let i = 0; i < 3; i++) {
    const c = await session(fw, 200 + i, 'data');
    c.send('the end\r\n.\r\n');
    t.match(await c.reply(), /^250 2\.0\.0 Ok: queued/);
    c.close();
  }
  const idle = await Promise.all(Array.from({ length: 50 }, (_, i) => session(fw, 10 + i, 'idle')));
  const inData = await Promise.all(Array.from({ length: 5 }, (_, i) => session(fw, 100 + i, 'data')));
  const pop3 = await new Promise<{ socket: Socket; text: () => string }>((resolve) => {
    let text = '';
    const socket = connect(fw.ports.pop3!, '127.0.0.1');
    socket.on('data', (d) => {
      text += d.toString();
      if (text.includes('\r\n')) resolve({ socket, text: () => text });
    });
  });

  const signalled = Date.now();
  const exitCode = new Promise<number | null>((resolve) => fw.child.once('exit', (code) => resolve(code)));
  fw.child.kill('SIGTERM');

  const idleReplies = Promise.all(idle.map(async (c) => ({ reply: await c.reply(GRACE_S * 1000), ms: Date.now() - signalled })));
  // Three clients finish their message within the grace: 250, then 421. Two never do: 421 at the grace.
  const finishing = inData.slice(0, 3).map(async (c) => {
    await new Promise((r) => setTimeout(r, 1000));
    c.send('the end\r\n.\r\n');
    return [await c.reply(), await c.reply()];
  });
  const stalled = inData.slice(3).map(async (c) => ({ reply: await c.reply((GRACE_S + 5) * 1000), ms: Date.now() - signalled }));

  const told = await idleReplies;
  for (const { reply } of told) t.match(reply, /^421 4\.3\.2 Service shutting down, try again later\r\n$/);
  const slowestIdle = Math.max(...told.map((r) => r.ms));
  t.ok(slowestIdle < 1500, `the 50 idle sessions were told at once (slowest ${slowestIdle} ms)`);
  await waitFor('the POP3 -ERR', () => pop3.text().includes('-ERR'), 1500);
  t.match(pop3.text(), /\r\n-ERR \[SYS\/TEMP\] Server shutting down\r\n$/, 'POP3 is told at once');
  for (const replies of await Promise.all(finishing)) {
    t.match(replies[0], /^250 2\.0\.0 Ok: queued as /, 'a message finished within the grace is acknowledged');
    t.match(replies[1], /^421 4\.3\.2 /, 'and the session then told 421');
  }
  for (const { reply, ms } of await Promise.all(stalled)) {
    t.match(reply, /^421 4\.3\.2 /, 'a message still arriving after the grace gets 421');
    t.ok(ms >= GRACE_S * 1000 - 100 && ms < (GRACE_S + 1.5) * 1000, `at the end of the grace (${ms} ms)`);
  }
  t.equal(await exitCode, 0, 'exit 0');
  const stoppedIn = Date.now() - signalled;
  t.ok(stoppedIn < (GRACE_S + 2) * 1000, `stopped ${stoppedIn} ms after SIGTERM (grace ${GRACE_S} s)`);
  t.comment(`SIGTERM with 50 idle + 5 mid-DATA clients: idle told within ${slowestIdle} ms, exit after ${stoppedIn} ms`);
  for (const c of [...idle, ...inData]) c.close();
  pop3.socket.destroy();

  // Start again: what was acknowledged (3 before, 3 during the grace) is delivered, once each.
  const again = await startChild(dataDir);
  t.teardown(() => void again.child.kill('SIGKILL'));
  await waitFor('6 messages in the mailbox', async () => (await inbox(dataDir)) >= 6);
  await new Promise((r) => setTimeout(r, 500));
  t.equal(await inbox(dataDir), 6, 'the six acknowledged messages, and not the two cut off');
  again.child.kill('SIGTERM');
});

t.test('stdio console: Ctrl-C clears the line and says how to stop; console settings apply live; shutdown stops Yubin', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS });
  const fw = await startChild(dataDir, [], 20_000, { stdin: true });
  t.teardown(() => void fw.child.kill('SIGKILL'));
  const type = (s: string) => fw.child.stdin!.write(s);
  let seen = 0;
  /** Wait until the console shows `pattern` after what was already awaited. */
  const expect = async (pattern: RegExp) => {
    let m: RegExpExecArray | null = null;
    await waitFor(String(pattern), () => (m = pattern.exec(fw.stdout().slice(seen))));
    seen += m!.index + m![0].length;
    return m![0];
  };
  await expect(/New admin password: /);
  type('console-secret-1\n');
  await expect(/Repeat admin password: /);
  type('console-secret-1\n');
  await expect(/Set up anew, or restore a backup\? \(new\/restore\) \[new\]: /);
  type('\n');
  // The rest of the first-boot setup: Enter keeps host name, domains, no users, no OP25B, UTC, and writes it.
  await expect(/Host name, e\.g\. mx\.example\.com \[mx\.yubin\.test\]: /);
  type('\n'.repeat(6));
  await expect(/admin password set/);
  await expect(/mx\.yubin\.test> /);

  type('\x03'); // a pipe, not a terminal: no echo of the ^C itself
  t.match(await expect(/Ctrl-C only clears the line here\. To stop Yubin: type 'shutdown', or run kill \d+ from another terminal\.\r\nmx\.yubin\.test> /), /kill \d+/);
  t.equal(fw.child.exitCode, null, 'Ctrl-C does not stop the appliance');
  type('help shutdown\n');
  t.match(await expect(/shutdown: stop Yubin: .*\r\n/), /on the board the board then powers off/);

  // The console station's settings, changed from the CLI while the console runs.
  for (const [key, value] of [['console.maxFailures', '1'], ['console.lockoutSeconds', '1']] as const) {
    const r = await run(process.execPath, [join(repo, 'firmware/yubin.ts'), '--data', dataDir, 'config', 'set', key, value]);
    t.equal(r.code, 0, r.stderr);
  }
  await new Promise((r) => setTimeout(r, 300));
  type('logout\n');
  await expect(/Password: /);
  type('wrong-password\n');
  await expect(/Login incorrect; console locked for 1 s\r\n/);
  t.pass('console.maxFailures 1: one wrong password locks (the default is 5)');
  await expect(/Password: /); // console.lockoutSeconds 1: the lock is over a second later
  type('console-secret-1\n');
  await expect(/mx\.yubin\.test> /);

  const exitCode = new Promise<number | null>((resolve) => fw.child.once('exit', (code) => resolve(code)));
  type('shutdown\n');
  await expect(/stopping Yubin\r\n/);
  t.equal(await exitCode, 0, 'shutdown stops the process, exit 0');
  t.match(fw.stderr(), /level=info msg=stopping why="console shutdown"[^]*level=info msg=stopped/);
});
