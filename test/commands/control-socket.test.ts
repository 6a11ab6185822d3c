// The CLI against the running board, as an admin uses it from a second terminal: `yubin start`
// in one process, `yubin …` in others. Board commands answer from the firmware (its status, its
// queue and alerts), prompts reach the CLI's terminal, the socket is the owner's alone; with no
// board running they say so, and a data folder that does not exist is refused unless --init.
import t from 'tap';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../support/clients.ts';
import { repo, seed, startChild, tempDir, BASE_SETTINGS } from '../support/firmware.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { Users } from '../../src/accounts/users.ts';
import { verifyPassword } from '../../src/accounts/passwords.ts';

const yubin = (dataDir: string, args: string[], input = '') => run(process.execPath, [join(repo, 'firmware/yubin.ts'), '--data', dataDir, ...args], { input });

t.test('with the board running, the CLI runs its commands there', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'board.leds': 'off' });
  const fw = await startChild(dataDir);
  t.teardown(async () => {
    fw.child.kill('SIGTERM');
    await fw.exited;
  });
  const socket = await stat(join(dataDir, 'control.sock'));
  t.ok(socket.isSocket(), 'DATA/control.sock');
  t.equal(socket.mode & 0o777, 0o600, 'the owner alone may connect');

  await sleep(2000);
  const status = await yubin(dataDir, ['show', 'status']);
  t.equal(status.code, 0, status.stderr);
  t.match(status.stdout, /^up ([2-9]|\d\d+) s, RSS [\d.]+ MiB/m, "the board's uptime, not the CLI's own");
  t.match(status.stdout, /^recipients: 0 sent, /m, "the board's counters");
  t.match(status.stdout, /^extensions: .*control up/m, 'and its extensions');
  t.same(await yubin(dataDir, ['show', 'queue']), { code: 0, stdout: 'queue empty\n', stderr: '' });
  t.same(await yubin(dataDir, ['show', 'alerts']), { code: 0, stdout: 'no alerts\n', stderr: '' });
  t.same(await yubin(dataDir, ['alert', 'ack']), { code: 0, stdout: 'no active alerts\n', stderr: '' });

  const add = await yubin(dataDir, ['user', 'add', 'bob'], 'bob-password-1\nbob-password-1\n');
  t.same(add, { code: 0, stdout: 'added bob: bob@yubin.test\n', stderr: 'New password for bob: Repeat password for bob: ' }, "the board's prompts on the CLI's terminal");
  const admin = await yubin(dataDir, ['admin', 'passwd'], 'admin-password-1\nadmin-password-1\n');
  t.same(admin, { code: 0, stdout: 'admin password set\n', stderr: 'New admin password: Repeat admin password: ' });
  const store = await ConfigStore.open(dataDir);
  t.teardown(() => store.close());
  t.ok(await verifyPassword('admin-password-1', store.get('console.passwordHash')), 'the console password, set before any console login');
  t.equal(await new Users(store).authenticate('bob', 'bob-password-1'), 'bob');
  t.same(await yubin(dataDir, ['set', 'hostname', 'x.test']), { code: 2, stdout: '', stderr: "set: a console command; here use 'config set KEY VALUE'\n" });
  t.match((await yubin(dataDir, ['help'])).stdout, /^  show +look at the running board  \[board: some\]$[^]*^  restart +.*  \[board\]$[^]*^\[board\]: needs the running firmware/m);
  t.match((await yubin(dataDir, ['help', 'show'])).stdout, /^  show status +host, role.*  \[board\]$/m);
});

t.test('with no board running, board commands say so; the rest work on the data folder', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, BASE_SETTINGS);
  for (const args of [['show', 'status'], ['show', 'queue'], ['alert', 'ack'], ['restart']]) {
    const r = await yubin(dataDir, args);
    t.equal(r.code, 1, args.join(' '));
    t.equal(r.stderr, `${args.join(' ')}: needs the running board, and none answers on ${dataDir}/control.sock: start it with 'yubin start' (npm start), then run this again\n`);
  }
  t.same(await yubin(dataDir, ['config', 'get', 'hostname']), { code: 0, stdout: 'mx.yubin.test\n', stderr: '' });
});

t.test('a --data folder that does not exist is refused, unless --init', async (t) => {
  const missing = join(await tempDir(t), 'typo');
  const r = await yubin(missing, ['config', 'show']);
  t.same(r, { code: 2, stdout: '', stderr: `yubin: ${missing}: no such data folder; to start a new one there, add --init (yubin --data ${missing} --init ...)\n` });
  const start = await run(process.execPath, [join(repo, 'firmware/yubin.ts'), 'start', '--data', missing]);
  t.equal(start.code, 2, 'yubin start refuses it too');
  t.match(start.stderr, /no such data folder/);
  await t.rejects(stat(missing), 'nothing was made');
  t.same(await yubin(missing, ['--init', 'config', 'get', 'hostname']), { code: 0, stdout: 'yubin.localdomain\n', stderr: '' });
  t.ok((await stat(missing)).isDirectory(), '--init made it');
});
