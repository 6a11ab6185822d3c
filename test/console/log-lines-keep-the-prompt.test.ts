// `npm start` on a terminal: the console's prompt and the log share it. A log line that arrives
// while the admin is typing clears the half-typed line, is written whole, and the prompt comes back
// with what was typed, which the admin then finishes. A real pseudo-terminal (Python's pty module)
// between this test and `yubin start`.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repo, seed, tempDir, BASE_SETTINGS } from '../support/firmware.ts';
import { sendMessage } from '../faults/fixtures/mail.ts';
import { hashPassword } from '../../src/accounts/passwords.ts';
import { NODE_FLAGS, RUNTIME_ENV } from '../../firmware/node-flags.ts';

t.test('a log line while the admin types: the prompt and the typed text are drawn again', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'smtp.greetingDelay': 0, 'board.leds': 'off', 'console.passwordHash': await hashPassword('admin-password-1') }, [
    { name: 'alice', password: 'alice-password-1' },
  ]);
  const argv = [process.execPath, ...NODE_FLAGS, join(repo, 'firmware/yubin.ts'), 'start', '--data', dataDir, '--ephemeral-ports'];
  // pty.spawn runs the command on a new pseudo-terminal and copies our pipes to and from its master side.
  const child = spawn('python3', ['-c', 'import pty, sys; pty.spawn(sys.argv[1:])', ...argv], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...RUNTIME_ENV } });
  let screen = '';
  child.stdout.on('data', (d: Buffer) => (screen += d.toString('utf8')));
  const exited = new Promise((r) => child.once('exit', r));
  t.teardown(async () => {
    child.stdin.end('shutdown\r');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });
  const waitFor = async (what: RegExp, from = 0) => {
    for (let i = 0; i < 400; i++) {
      const m = what.exec(screen.slice(from));
      if (m) return m;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`not on the screen: ${what}; screen: ${JSON.stringify(screen.slice(-2000))}`);
  };
  const ready = await waitFor(/yubin: ready smtp=(\d+)/);
  await waitFor(/Password: /);
  child.stdin.write('admin-password-1\r');
  await waitFor(/mx\.yubin\.test> /);
  child.stdin.write('show sta');
  await waitFor(/show sta/);
  const before = screen.length;
  const reply = await sendMessage({ port: Number(ready[1]), local: '127.0.0.1', from: 'alice@yubin.test', to: 'alice@yubin.test', message: 'Subject: hi\r\n\r\nhi\r\n' });
  t.match(reply, /^250 /);
  // The line is cleared (CR, erase to end of line), the log line written, the prompt and "show sta" drawn again.
  const drawn = await waitFor(/\r\x1b\[K(time=\S+ level=info msg=arrived [^\n]*)\n(mx\.yubin\.test> show sta)/, before);
  t.match(drawn[1], /queueId=\S+ session=\S+ client=127\.0\.0\.1 /, 'the log line, whole, on a line of its own');
  t.notMatch(screen.slice(before), /show sta[^\r\n\x1b]*time=/, 'no log line glued to the typed text');
  child.stdin.write('tus\r');
  await waitFor(/recipients: \d+ sent/, before);
  t.pass('finishing the redrawn line runs "show status"');
});
