// Settings say when they apply, and the running firmware hears exactly what changed: once, with
// the keys, whether the change came from the console, from the CLI in another process, or from an
// editor on config.json. A file that cannot be used is logged and alerted; the settings stay.
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startInProcess, repo } from '../support/firmware.ts';
import { run } from '../support/clients.ts';
import { runCommand, splitWords } from '../../firmware/commands/index.ts';
import { schema } from '../../src/config/schema.ts';
import type { EventMap } from '../../src/events/bus.ts';

const fw = await startInProcess(t);
const dataDir = fw.ctx.dataDir;
const yubin = (...args: string[]) => run(process.execPath, [join(repo, 'firmware/yubin.ts'), '--data', dataDir, ...args]);
const changes: EventMap['config.changed'][] = [];
fw.ctx.bus.on('config.changed', (e) => changes.push(e));
const rejected: EventMap['config.rejected'][] = [];
fw.ctx.bus.on('config.rejected', (e) => rejected.push(e));

async function consoleLine(line: string): Promise<string> {
  let out = '';
  await runCommand(splitWords(line), { ctx: fw.ctx, surface: 'console', hooks: fw.hooks, out: { write: (s) => void (out += s) }, err: { write: (s) => void (out += s) }, prompt: async () => null });
  return out;
}

/** Wait for `n` events in all, then long enough that a duplicate (the file watcher's) would show. */
async function settle(n: number): Promise<void> {
  const until = Date.now() + 10_000;
  while (changes.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 400));
}

t.test('every setting declares live or restart', async (t) => {
  for (const [key, s] of Object.entries(schema)) t.ok(s.applies === 'live' || s.applies === 'restart', key);
  const restart = Object.entries(schema).filter(([, s]) => s.applies === 'restart').map(([k]) => k).sort();
  t.same(restart, ['console.baud', 'console.device', 'listen.address', 'pop3.port', 'pop3.tlsPort', 'smtp.port', 'smtp.smtpsPort', 'smtp.submissionPort', 'tls.cert', 'tls.key'],
    'only what binds or opens once at start needs a restart');
});

t.test('config show --doc says when each setting takes effect', async (t) => {
  const r = await yubin('config', 'show', '--doc');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /smtp\.port = 2525\n.*\n    allowed: an integer from 0 to 65535; default: 2525; takes effect: after restart\n/);
  t.match(r.stdout, /smtp\.maxSize = 26214400\n.*\n    allowed: .*; default: 26214400; takes effect: live\n/);
  t.equal(r.stdout.match(/takes effect: /g)?.length, Object.keys(schema).length, 'for every key');
});

t.test('a console commit is heard once, with its keys; a restart-only key says so', async (t) => {
  t.equal(await consoleLine('set smtp.maxSize 2M'), "staged smtp.maxSize = 2097152 ('commit' saves, 'discard' drops)\n");
  t.equal(await consoleLine('set pop3.port 1111'), "staged pop3.port = 1111 ('commit' saves, 'discard' drops; it takes effect after restart)\n");
  t.equal(await consoleLine('commit'), "committed smtp.maxSize, pop3.port; pop3.port takes effect after restart ('restart' applies it now)\n");
  await settle(1);
  t.same(changes, [{ keys: ['smtp.maxSize', 'pop3.port'] }], 'one config.changed, not a second one from the file watcher');
  t.equal(await consoleLine('commit'), 'nothing staged\n');
});

t.test('the CLI in another process: heard once, with its key', async (t) => {
  changes.length = 0;
  const live = await yubin('config', 'set', 'smtp.maxRecipients', '50');
  t.same([live.code, live.stdout], [0, 'smtp.maxRecipients = 50\n'], live.stderr);
  await settle(1);
  t.same(changes, [{ keys: ['smtp.maxRecipients'] }]);
  t.equal(fw.ctx.store.get('smtp.maxRecipients'), 50);

  const later = await yubin('config', 'set', 'smtp.port', '2600');
  t.same([later.code, later.stdout], [0, 'smtp.port = 2600 (takes effect after restart)\n'], later.stderr);
  await settle(2);
  t.same(changes, [{ keys: ['smtp.maxRecipients'] }, { keys: ['smtp.port'] }]);

  const same = await yubin('config', 'set', 'smtp.maxRecipients', '50');
  t.equal(same.code, 0);
  await settle(3);
  t.equal(changes.length, 2, 'a value set to what it already is changes nothing, and nothing is heard');
});

t.test('config.json edited by hand: heard once, with the key', async (t) => {
  changes.length = 0;
  const file = join(dataDir, 'config.json');
  const db = JSON.parse(await readFile(file, 'utf8')) as { settings: Record<string, unknown> };
  db.settings['smtp.maxBadCommands'] = 7;
  await writeFile(file, JSON.stringify(db, null, 2) + '\n');
  await settle(1);
  t.same(changes, [{ keys: ['smtp.maxBadCommands'] }]);
  t.equal(fw.ctx.store.get('smtp.maxBadCommands'), 7);
});

t.test('a config.json that cannot be used is logged and alerted; the running settings stay', async (t) => {
  changes.length = 0;
  const file = join(dataDir, 'config.json');
  const good = await readFile(file, 'utf8');
  const db = JSON.parse(good) as { settings: Record<string, unknown> };
  db.settings['smtp.maxBadCommands'] = 'many';
  await writeFile(file, JSON.stringify(db, null, 2) + '\n');
  const until = Date.now() + 10_000;
  while (rejected.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  t.match(rejected[0], { file, error: /smtp\.maxBadCommands: "many" is not allowed: expected an integer from 1 to 1000/ });
  t.equal(fw.ctx.store.get('smtp.maxBadCommands'), 7, 'the running value stays');
  t.match(fw.alerts.active(), [{ kind: 'config-invalid', severity: 'critical', source: file, text: /cannot be used \(the running settings stay\): .*smtp\.maxBadCommands/ }]);
  t.same(changes, []);
  await writeFile(file, good);
  await settle(0);
  t.same(changes, [], 'the good file back: nothing changed from what runs');
});
