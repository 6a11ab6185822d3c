// Console login limits and line input, on an in-memory stream (the pty test covers the wire).
import t from 'tap';
import { PassThrough } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore } from '../../src/config/store.ts';
import type { EventMap } from '../../src/events/bus.ts';
import { type Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { createConsoleService } from '../../firmware/console/service.ts';
import { setAdminPassword } from '../../firmware/console/admin.ts';
import { LineReader } from '../../firmware/console/line-reader.ts';
import { LoginGuard } from '../../firmware/console/login-guard.ts';
import { createContext } from '../../firmware/context.ts';

t.test('wrong passwords wait longer each time, then lock the console', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-login-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await ConfigStore.open(dir);
  await store.set('console.maxFailures', '2');
  await store.set('console.lockoutSeconds', '60');
  const ctx: Context = createContext(dir, store, stderrLogger('error'));
  await setAdminPassword(ctx, 'right-password');
  const input = new PassThrough();
  const output = new PassThrough();
  let screen = '';
  output.on('data', (d: Buffer) => (screen += d.toString()));
  const failed: EventMap['auth.failed'][] = [];
  ctx.bus.on('auth.failed', (e) => failed.push(e));
  const service = createConsoleService(ctx, {}, { stream: { input, output, name: 'test-line' } });
  await service.start();
  t.teardown(() => service.stop());
  const until = async (text: string) => {
    const deadline = Date.now() + 15000;
    while (!screen.includes(text)) {
      if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(text)} in ${JSON.stringify(screen)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  input.write('bad-1\r');
  await until('Login incorrect\r\n');
  input.write('bad-2\r');
  await until('Login incorrect; console locked for 60 s');
  await until('console locked after too many wrong passwords; try again in 60 s');
  t.equal(failed.length, 2, 'each failure raises auth.failed');
  input.write('right-password\r');
  await until('try again in 6');
  t.notMatch(screen, 'Logged in', 'even the right password is refused while locked');
});

t.test('login guard: 1 s, 2 s, 4 s … capped at 30 s; lock after the limit; success resets', async (t) => {
  let now = 0;
  const g = new LoginGuard({ maxFailures: () => 10, lockoutSeconds: () => 300 }, () => now);
  t.same([1, 2, 3, 4, 5, 6, 7].map(() => g.failure().delayMs), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  g.success();
  t.equal(g.failure().delayMs, 1000);
  for (let i = 0; i < 8; i++) g.failure();
  t.same(g.failure(), { delayMs: 0, locked: true });
  t.equal(g.lockedFor(), 300_000);
  now += 300_000;
  t.equal(g.lockedFor(), 0);
});

t.test('line reader: idle timeout, bounded line, Ctrl-C, Ctrl-D, escapes, CR LF', async (t) => {
  const input = new PassThrough();
  let echo = '';
  const r = new LineReader(input, { write: (s) => void (echo += s) }, { maxLine: 5 });
  t.same(await r.read({ idleMs: 50 }), { end: 'idle' });
  input.write('abcdefgh\r\n');
  t.same(await r.read(), { line: 'abcde' }, 'keys beyond the bound are dropped');
  t.match(echo, 'abcde\x07\x07\x07\r\n', 'with a bell each');
  input.write('x\x1b[Ay\r');
  t.same(await r.read(), { line: 'xy' }, 'arrow keys are not inserted; the LF of CR LF was not an empty line');
  input.write('zz\x03');
  t.same(await r.read(), { line: '' }, 'Ctrl-C abandons the line');
  input.write('\x04');
  t.same(await r.read(), { end: 'ctrl-d' });
  input.write('日本\x7f語\r');
  t.same(await r.read(), { line: '日語' }, 'backspace removes a whole character');
  input.end();
  t.same(await r.read(), { end: 'closed' });
});
