// The console over a real serial line: socat makes a linked pty pair, Yubin's console opens one
// end with serialport (console.device), the test types on the other end like a terminal would.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ptyPair, terminal } from '../support/pty.ts';
import { ConfigStore } from '../../src/config/store.ts';
import type { EventMap } from '../../src/events/bus.ts';
import { type Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { createConsoleService } from '../../firmware/console/service.ts';
import { createContext } from '../../firmware/context.ts';

async function boot(dir: string, device: string) {
  const store = await ConfigStore.open(dir);
  await store.set('console.device', device);
  const ctx: Context = createContext(dir, store, stderrLogger('error'));
  const service = createConsoleService(ctx, {});
  await service.start();
  return { ctx, service, store };
}

t.test('console session over a socat pty pair', async (t) => {
  const [boardEnd, adminEnd] = await ptyPair(t);
  const dir = await mkdtemp(join(tmpdir(), 'yubin-console-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const PASSWORD = 'serial-secret-1';

  let board = await boot(dir, boardEnd);
  t.teardown(() => board.service.stop());
  const term = await terminal(t, adminEnd);
  term.type('\r');
  await term.expect('No admin password is set yet');
  await term.expect('New admin password: ');
  // Too short: said at once, not after typing it a second time; then asked anew.
  term.type('short\r');
  t.notMatch(await term.expect('password: too short: use at least 8 characters'), 'Repeat', 'no second entry of a refused password');
  await term.expect('New admin password: ');
  term.type(`${PASSWORD}\r`);
  await term.expect('Repeat admin password: ');
  term.type(`${PASSWORD}\r`);
  // The rest of the first-boot setup (test/setup/ drives every answer): Enter keeps each value.
  for (const question of ['Host name, e.g. mx.example.com [yubin.localdomain]: ', 'Domains [localhost]: ', 'User name (Enter when done): ',
    'Is outgoing port 25 blocked? (no/yes) [no]: ', 'Time zone [UTC]: ', 'Write it? (yes/no) [yes]: ']) {
    await term.expect(question);
    term.type('\r');
  }
  await term.expect('admin password set');
  await term.expect('yubin.localdomain> ');
  t.notMatch(term.screen, PASSWORD, 'the password is never echoed');

  // Logout, then a wrong password: refused, after a delay, with an auth.failed event.
  term.type('logout\r');
  await term.expect('logged out');
  const failed: EventMap['auth.failed'][] = [];
  board.ctx.bus.on('auth.failed', (e) => failed.push(e));
  await term.expect('Password: ');
  const t0 = Date.now();
  term.type('wrong-password\r');
  await term.expect('Login incorrect');
  t.ok(Date.now() - t0 >= 900, 'a wrong password costs at least a second');
  t.same(failed, [{ service: 'console', client: boardEnd, user: 'admin' }]);
  await term.expect('Password: ');
  term.type(`${PASSWORD}\r`);
  await term.expect("Logged in. 'help' lists commands.");

  // Line editing: backspace fixes a typo, and what is typed is echoed.
  term.type('show statux\x7fs\r');
  t.match(await term.expect(/role all-in-one/), 'show statux\b \bs\r\nYubin on yubin.localdomain', 'backspace erases on screen and in the line');

  term.type('set smtp.maxSize banana\r');
  t.match(await term.expect('1073741824'), 'smtp.maxSize: "banana" is not allowed: expected an integer from 1024 to 1073741824',
    'a bad set is refused naming the key');
  term.type('set smtp.maxSize 2M\r');
  await term.expect("staged smtp.maxSize = 2097152 ('commit' saves, 'discard' drops)");
  await term.expect('yubin.localdomain*> ');
  term.type('commit\r');
  await term.expect('committed smtp.maxSize');
  await term.expect('yubin.localdomain> ');

  // Restart: stop the console, close the store, open everything anew on the same serial line.
  await board.service.stop();
  board.store.close();
  board = await boot(dir, boardEnd);
  term.type('\r');
  await term.expect('Password: ');
  term.type(`${PASSWORD}\r`);
  await term.expect('Logged in.');
  await term.expect('yubin.localdomain> ');
  term.type('config get smtp.maxSize\r');
  t.match(await term.expect('yubin.localdomain> '), '2097152\r\n', 'the committed setting survived the restart');
  term.type('help set\r');
  t.match(await term.expect('yubin.localdomain> '), "usage: set KEY VALUE");
});
