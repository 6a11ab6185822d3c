// config.json schema migrations run once per board and are written down; the file as it was is
// kept, and an older firmware that finds a newer file (an A/B rollback) goes back to that copy.
import t from 'tap';
import { readFile, writeFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, startChild } from '../support/firmware.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { CONFIG_VERSION, VERSIONS_DIR, migrateFile, type Step } from '../../src/config/migrations.ts';
import { upgradeStatusService } from '../../firmware/lifecycle/upgrade.ts';
import { createContext } from '../../firmware/context.ts';
import type { EventMap } from '../../src/events/bus.ts';

// What a firmware of configuration version 1 wrote: the POP3 lockout keys of before the login brake.
const v1 = {
  version: 1,
  settings: { hostname: 'mx.old.test', domains: ['old.test'], 'listen.address': '127.0.0.1', 'pop3.authDelayMs': 1500, 'pop3.lockoutSeconds': 60 },
  users: {},
  aliases: {},
};
const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'));

t.test('a version 1 file is migrated once, recorded, and the original kept', async (t) => {
  const dir = await tempDir(t);
  const original = JSON.stringify(v1, null, 2) + '\n';
  await writeFile(join(dir, 'config.json'), original);
  const store = await ConfigStore.open(dir);
  t.equal(store.get('login.delayMs'), 1500, 'read under the new name');
  t.equal(store.get('login.lockSeconds'), 60);
  t.equal(store.migrations.length, 1);
  store.close();

  const file = await readJson(join(dir, 'config.json'));
  t.equal(file.version, CONFIG_VERSION);
  t.notOk('pop3.authDelayMs' in file.settings, 'the old name is gone from the file');
  t.equal(file.settings['login.delayMs'], 1500);
  t.equal(file.migrations.length, 1);
  t.match(file.migrations[0], { from: 1, to: 2, what: /login brake/, at: /^\d{4}-\d\d-\d\dT/ });
  t.equal(await readFile(join(dir, VERSIONS_DIR, 'config.v1.json'), 'utf8'), original, 'the file as it was, byte for byte');

  const again = await ConfigStore.open(dir);
  t.equal(again.migrations.length, 0, 'nothing runs the second time');
  await again.set('login.delayMs', '2000');
  again.close();
  t.equal((await readJson(join(dir, 'config.json'))).migrations.length, 1, 'still one record after a later commit');
});

t.test('the firmware logs the migration at start and runs with the migrated settings', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'config.json'), JSON.stringify(v1));
  const fw = await startChild(dir);
  fw.child.kill('SIGTERM');
  await fw.exited;
  t.match(fw.stderr(), /msg="config\.json migrated" from=1 to=2 .*kept=config-versions\/config\.v1\.json/);
  t.equal((await readJson(join(dir, 'config.json'))).version, CONFIG_VERSION);
});

t.test('an older firmware finding a newer file goes back to the copy saved before the migration, and says so', async (t) => {
  const dir = await tempDir(t);
  const before = { version: CONFIG_VERSION, settings: { hostname: 'mx.before.test', domains: ['before.test'] }, users: {}, aliases: {} };
  const newer = { version: CONFIG_VERSION + 1, settings: { hostname: 'mx.after.test', 'some.futureKey': true }, users: {}, aliases: {} };
  await mkdir(join(dir, VERSIONS_DIR));
  await writeFile(join(dir, VERSIONS_DIR, `config.v${CONFIG_VERSION}.json`), JSON.stringify(before));
  await writeFile(join(dir, 'config.json'), JSON.stringify(newer));
  const store = await ConfigStore.open(dir);
  t.equal(store.get('hostname'), 'mx.before.test', 'the settings of before the upgrade');
  t.match(store.migrations[0]?.rolledBack, { from: CONFIG_VERSION + 1, to: CONFIG_VERSION });
  t.same(await readJson(join(dir, VERSIONS_DIR, `config.v${CONFIG_VERSION + 1}.json`)), newer, "the newer firmware's file is kept, not thrown away");

  const ctx = createContext(dir, store, { log: () => undefined });
  const problems: EventMap['lifecycle.problem'][] = [];
  ctx.bus.on('lifecycle.problem', (e) => problems.push(e));
  await upgradeStatusService(ctx, () => ({ booted: null, primary: null, env: {} })).start();
  t.equal(problems.length, 1, 'an alert (console, LEDs, MQTT)');
  t.match(problems[0]?.text, /newer firmware \(version 3\) set aside as .*config\.v3\.json; using the copy saved before it was migrated \(version 2\)/);
  store.close();
});

t.test('a newer file without a copy from before is refused, naming both versions; nothing is changed', async (t) => {
  const dir = await tempDir(t);
  const text = JSON.stringify({ version: 7, settings: {}, users: {}, aliases: {} });
  await writeFile(join(dir, 'config.json'), text);
  await t.rejects(ConfigStore.open(dir), /config\.json: written by a newer firmware \(configuration version 7; this firmware reads up to 2\) and no copy from before that upgrade/);
  t.equal(await readFile(join(dir, 'config.json'), 'utf8'), text);
  t.same(await readdir(dir), ['config.json']);
});

t.test('several steps in one go keep each version the file passed through', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ version: 1, settings: { a: 1 } }));
  const steps: Step[] = [
    { to: 2, what: 'a → b', run: (db) => { const s = db.settings as Record<string, unknown>; s.b = s.a; delete s.a; } },
    { to: 3, what: 'b doubled', run: (db) => { const s = db.settings as Record<string, number>; s.b = s.b! * 2; } },
  ];
  const { db, outcome } = await migrateFile(file, await readJson(file), { current: 3, steps });
  t.same(db.settings, { b: 2 });
  t.same(outcome.migrated.map((m) => [m.from, m.to]), [[1, 2], [2, 3]]);
  t.same((await readJson(join(dir, VERSIONS_DIR, 'config.v2.json'))).settings, { b: 1 }, 'the version 2 state, for a firmware of version 2');
  t.same((await readJson(join(dir, VERSIONS_DIR, 'config.v1.json'))).settings, { a: 1 });
  t.same((await readJson(file)).migrations.length, 2);
  await t.rejects(migrateFile(file, { version: 3, settings: {} }, { current: 4, steps }), /no migration from configuration version 3 to 4/);
});
