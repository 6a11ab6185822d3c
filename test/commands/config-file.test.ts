// config export / config import as an admin moves a board: the CLI in its own process, a file
// in between. A fresh data folder that imports the export shows the same `config show`; a bad file
// is refused whole, naming every bad key, and nothing is written.
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../support/clients.ts';
import { repo, tempDir, seed } from '../support/firmware.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { Users } from '../../src/accounts/users.ts';

const yubin = (dataDir: string, ...args: string[]) => run(process.execPath, [join(repo, 'firmware/yubin.ts'), '--data', dataDir, ...args], { input: '' });

/** A configured office board: settings as an admin sets them, a user with APOP, an alias. */
async function office(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = await tempDir(t);
  await seed(dir, {
    hostname: 'mx.office.test',
    domains: ['localhost', 'office.test'],
    trustedNetworks: ['127.0.0.1/32', '192.168.1.0/24'],
    'relay.smarthost': 'smtp.provider.test:587',
    'relay.smarthostPassword': 'provider-secret',
    'hold.delaySeconds': 120,
    'log.level': 'debug',
  }, [{ name: 'alice', password: 'alice-password-1' }]);
  const store = await ConfigStore.open(dir);
  await new Users(store).setApopSecret('alice', 'alice-apop-secret');
  await store.update((db) => {
    db.aliases.info = ['alice'];
  });
  store.close();
  return dir;
}

t.test('export, then import on a fresh data folder: the same config show', async (t) => {
  const from = await office(t);
  const exported = await yubin(from, 'config', 'export');
  t.equal(exported.code, 0, exported.stderr);
  const file = JSON.parse(exported.stdout) as Record<string, unknown>;
  t.same(Object.keys(file), ['format', 'version', 'settings'], 'settings only unless asked');
  t.notMatch(exported.stdout, /provider-secret|scrypt\$/, 'no secret without --secrets');
  t.same((file.settings as Record<string, unknown>).hostname, 'mx.office.test');
  t.notOk('smtp.maxSize' in (file.settings as object), 'defaults are not written');

  const dir = await tempDir(t);
  const path = join(dir, 'office.json');
  await writeFile(path, exported.stdout);
  const fresh = await tempDir(t);
  const imported = await yubin(fresh, 'config', 'import', path);
  t.equal(imported.code, 0, imported.stderr);
  t.equal(imported.stdout, `imported 6 settings from ${path}\n`);
  const shown = (await yubin(fresh, 'config', 'show')).stdout.split('\n');
  const original = (await yubin(from, 'config', 'show')).stdout.split('\n');
  t.same(shown.filter((l) => !l.startsWith('relay.smarthostPassword ')), original.filter((l) => !l.startsWith('relay.smarthostPassword ')), 'config show is identical but for the secret');
  t.ok(shown.includes('relay.smarthostPassword = (not set)'), 'the secret stayed behind (config export --secrets carries it)');
});

t.test('--accounts --secrets carries users, aliases and secrets, marked apart', async (t) => {
  const from = await office(t);
  const exported = await yubin(from, 'config', 'export', '--accounts', '--secrets');
  const file = JSON.parse(exported.stdout) as { users: Record<string, unknown>; aliases: Record<string, string[]>; secrets: { warning: string; settings: Record<string, string>; users: Record<string, { passwordHash: string; apopSecret: string }> } };
  t.same(file.users, { alice: { addresses: [], apop: true } }, 'the user without its secrets');
  t.same(file.aliases, { info: ['alice'] });
  t.match(file.secrets.warning, /keep this file private/);
  t.same(file.secrets.settings, { 'relay.smarthostPassword': 'provider-secret' });
  t.match(file.secrets.users.alice, { passwordHash: /^scrypt\$/, apopSecret: 'alice-apop-secret' });

  const path = join(await tempDir(t), 'all.json');
  await writeFile(path, exported.stdout, { mode: 0o600 });
  const fresh = await tempDir(t);
  const imported = await yubin(fresh, 'config', 'import', path);
  t.equal(imported.stdout, `imported 7 settings, 1 user, 1 alias from ${path}\n`, imported.stderr);
  for (const args of [['config', 'show'], ['user', 'list'], ['alias', 'list']]) {
    t.equal((await yubin(fresh, ...args)).stdout, (await yubin(from, ...args)).stdout, args.join(' '));
  }
  const users = new Users(await ConfigStore.open(fresh));
  t.equal(await users.authenticate('alice', 'alice-password-1'), 'alice', 'alice logs in with her password on the new board');
  t.equal(await users.apopSecret('alice'), 'alice-apop-secret');
});

t.test('users without their secrets cannot log in until given a password', async (t) => {
  const from = await office(t);
  const path = join(await tempDir(t), 'accounts.json');
  await writeFile(path, (await yubin(from, 'config', 'export', '--accounts')).stdout);
  const fresh = await tempDir(t);
  const imported = await yubin(fresh, 'config', 'import', path);
  t.match(imported.stdout, /^no password in the file for alice: set one with 'user passwd NAME' \(until then they cannot log in\)$/m);
  const users = new Users(await ConfigStore.open(fresh));
  t.equal(await users.authenticate('alice', ''), null);
  t.equal(await users.authenticate('alice', 'alice-password-1'), null);
});

t.test('a bad file is refused whole, naming every bad key; nothing is written', async (t) => {
  const fresh = await tempDir(t);
  await yubin(fresh, 'config', 'set', 'hostname', 'mx.before.test');
  const before = await readFile(join(fresh, 'config.json'), 'utf8');
  const path = join(await tempDir(t), 'bad.json');
  await writeFile(path, JSON.stringify({
    format: 'yubin-config',
    version: 1,
    settings: { hostname: 'mx.after.test', 'smtp.maxSize': 'banana', 'smtp.nope': 1, trustedNetworks: ['10.0.0.0/33'] },
    users: { 'Bad Name': { addresses: [] }, bob: { addresses: ['not-an-address'], quota: -1 } },
    aliases: { info: [] },
  }));
  const r = await yubin(fresh, 'config', 'import', path);
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  t.equal(r.stderr, [
    `${path}: nothing imported; 7 problems:`,
    '  settings.smtp.maxSize: "banana" is not allowed: expected an integer from 1024 to 1073741824',
    "  settings.smtp.nope: unknown key (see 'config show --doc' for the list)",
    '  settings.trustedNetworks: ["10.0.0.0/33"] is not allowed: expected a comma-separated list, each an IPv4 or IPv6 address or CIDR block such as 192.168.1.0/24 (bad item "10.0.0.0/33")',
    '  users.Bad Name: not allowed as a user name: expected 1-64 of a-z 0-9 . _ - starting with a letter or digit',
    '  users.bob.addresses: expected a list of addresses such as info@example.com',
    '  users.bob.quota: expected a number of bytes (0: unlimited)',
    '  aliases.info: expected a list of 1 to 100 targets',
    '',
  ].join('\n'));
  t.equal(await readFile(join(fresh, 'config.json'), 'utf8'), before, 'config.json is untouched, hostname included');
  t.match((await yubin(fresh, 'config', 'import', join(fresh, 'missing.json'))).stderr, /missing\.json: cannot read it: ENOENT/);
});
