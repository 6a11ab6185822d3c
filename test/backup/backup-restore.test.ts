// Backup and restore as an owner does them: mail really delivered by the running firmware, a
// backup with --with-mail, a factory reset of everything, the restore, and the same users,
// domains, aliases, DKIM keys and Maildir contents (checksums compared). A wrong passphrase, a
// damaged, truncated or foreign file, or one holding what no backup may hold is refused with a
// message saying so, and the data folder is left exactly as it was.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile, stat, truncate, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Encrypter } from 'age-encryption';
import { ConfigStore } from '../../src/config/store.ts';
import { type Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { keygen } from '../../src/dkimsign/keys.ts';
import { runCommand, splitWords, type CommandHooks } from '../../firmware/commands/index.ts';
import { createContext } from '../../firmware/context.ts';
import { applyPendingReset, requestReset } from '../../firmware/lifecycle/reset.ts';
import { restoreFromSetup } from '../../firmware/commands/backup.ts';
import { hasAdminPassword, checkAdminPassword, setAdminPassword } from '../../firmware/console/admin.ts';
import { startInProcess, tempDir, seed, BASE_SETTINGS } from '../support/firmware.ts';
import { swaks, run } from '../support/clients.ts';

const passphrase = 'correct horse battery staple';

async function cli(ctx: Context, line: string, answers: string[] = [], hooks: CommandHooks = {}) {
  let out = '';
  let err = '';
  const queue = [...answers];
  const code = await runCommand(splitWords(line), {
    ctx,
    surface: 'console',
    out: { write: (s) => void (out += s) },
    err: { write: (s) => void (err += s) },
    prompt: async () => queue.shift() ?? null,
    hooks,
  });
  return { code, out, err };
}

/** Every file under `dir` with its SHA-256: what "nothing changed" and "the same contents" compare. */
async function tree(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true }).catch(() => [])) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, await tree(dir, rel));
    // Files only: a running board's control socket (DATA/control.sock) is no data.
    else if (e.isFile()) out[rel] = createHash('sha256').update(await readFile(join(dir, rel))).digest('hex');
  }
  return out;
}

const only = (files: Record<string, string>, prefix: string) => Object.fromEntries(Object.entries(files).filter(([k]) => k.startsWith(prefix)));

async function openCtx(t: Test, dir: string): Promise<Context> {
  const store = await ConfigStore.open(dir);
  t.teardown(() => store.close());
  return createContext(dir, store, stderrLogger('error'));
}

/** A small board with a user, an APOP secret, an alias, a DKIM key and a certificate, no mail. */
async function smallBoard(t: Test): Promise<{ dir: string; ctx: Context }> {
  const dir = await tempDir(t, 'yubin-backup-');
  await seed(dir, { ...BASE_SETTINGS }, [{ name: 'alice', password: 'alice-password' }]);
  const ctx = await openCtx(t, dir);
  await ctx.users.setApopSecret('alice', 'apop-secret-1');
  await keygen(dir, 'yubin.test', { algorithm: 'ed25519-sha256' });
  await mkdir(join(dir, 'mail/alice/new'), { recursive: true });
  await writeFile(join(dir, 'mail/alice/new/1.M1P1.mx'), 'Subject: kept\r\n\r\nkept\r\n');
  return { dir, ctx };
}

t.test('round trip: restore onto a factory-reset board gives back users, domains, aliases, DKIM keys and Maildir contents', async (t) => {
  const fw = await startInProcess(t, { domains: ['yubin.test', 'example.org'] }, [{ name: 'alice', password: 'alice-password' }, { name: 'bob', password: 'bob-password1' }]);
  const { ctx } = fw;
  const dir = ctx.dataDir;
  t.equal((await cli(ctx, 'alias add sales alice bob')).code, 0);
  await ctx.users.setApopSecret('alice', 'apop-secret-1');
  t.equal((await cli(ctx, 'dkim keygen yubin.test')).code, 0);
  // Mail delivered the way mail arrives: SMTP into the running firmware, then local delivery.
  for (const n of [1, 2, 3]) {
    const r = await swaks(['--server', '127.0.0.1', '--port', String(fw.ports().smtp), '--from', 'carol@outside.example', '--to', n === 3 ? 'sales@yubin.test' : 'alice@yubin.test', '--header', `Subject: message ${n}`]);
    t.equal(r.code, 0, r.stdout + r.stderr);
  }
  let mail: Record<string, string> = {};
  // Delivery is asynchronous after 250 queued; a loaded machine takes seconds.
  for (let i = 0; i < 600 && Object.keys(mail).length < 4; i++) {
    await sleep(100);
    mail = only(await tree(dir), 'mail/');
  }
  t.equal(Object.keys(mail).length, 4, 'alice has 3 messages, bob 1 (the alias)');
  const before = await tree(dir);
  const file = join(await tempDir(t, 'yubin-usb-'), 'board.age');
  const made = await cli(ctx, `backup create --with-mail ${file}`, [passphrase, passphrase]);
  t.equal(made.code, 0, made.err);
  t.match(made.out, /^backup written: .*board\.age \([\d.]+ MiB, \d+ files, settings and mail\)\n$/);
  await fw.stop();

  // The reset erases everything; the board then starts as new.
  const resetCtx = await openCtx(t, dir);
  const reset = await cli(resetCtx, 'factory-reset', ['2', 'erase', BASE_SETTINGS.hostname]);
  t.equal(reset.code, 0, reset.err);
  resetCtx.store.close();
  t.equal(await applyPendingReset(dir), 'all');
  t.same(await readdir(dir), [], 'nothing left in the data folder');

  const fresh = await openCtx(t, dir);
  const restored = await cli(fresh, `backup restore ${file}`, [passphrase]);
  t.equal(restored.code, 0, restored.err);
  t.match(restored.out, /restored \d+ files from mx\.yubin\.test .*config\.json, secrets, dkim, tls, mail, archive replaced/);
  const after = await tree(dir);
  t.same(only(after, 'mail/'), mail, 'every Maildir file is back, byte for byte');
  t.same(only(after, 'dkim/'), only(before, 'dkim/'), 'the DKIM keys are the same keys');
  t.same(only(after, 'secrets/'), only(before, 'secrets/'), 'APOP secrets and the hold key are back');
  t.same(only(after, 'tls/'), only(before, 'tls/'), 'the certificate is the same');
  const store = await ConfigStore.open(dir);
  t.teardown(() => store.close());
  t.same(store.get('domains'), ['yubin.test', 'example.org']);
  t.same(store.db.aliases, { sales: ['alice', 'bob'] });
  const users = createContext(dir, store, stderrLogger('error')).users;
  t.same(users.list(), ['alice', 'bob']);
  t.equal(await users.authenticate('alice', 'alice-password'), 'alice', "alice's password works");
  t.equal(await users.apopSecret('alice'), 'apop-secret-1');
});

t.test('a settings-only backup restores settings and keeps the mail on the board', async (t) => {
  const { dir, ctx } = await smallBoard(t);
  const file = join(await tempDir(t), 'settings.age');
  t.equal((await cli(ctx, `backup create --passphrase-file ${await passFile(t)} ${file}`)).code, 0);
  await writeFile(join(dir, 'mail/alice/new/2.M2P2.mx'), 'Subject: arrived later\r\n\r\nx\r\n');
  await ctx.store.update((db) => void (db.settings.domains = ['changed.test']));
  const r = await cli(ctx, `backup restore --passphrase-file ${await passFile(t)} ${file}`);
  t.equal(r.code, 0, r.err);
  t.same(ctx.store.get('domains'), ['yubin.test'], 'settings as they were');
  t.same(Object.keys(only(await tree(dir), 'mail/')).sort(), ['mail/alice/new/1.M1P1.mx', 'mail/alice/new/2.M2P2.mx'], 'mail untouched');
});

async function passFile(t: Test, text = passphrase): Promise<string> {
  const f = join(await tempDir(t), 'pass');
  await writeFile(f, `${text}\n`);
  return f;
}

t.test('refusals change nothing: wrong passphrase, damaged, truncated, not a backup, a path no backup may hold', async (t) => {
  const { dir, ctx } = await smallBoard(t);
  const usb = await tempDir(t);
  const good = join(usb, 'good.age');
  t.equal((await cli(ctx, `backup create --with-mail --passphrase-file ${await passFile(t)} ${good}`)).code, 0);
  const before = await tree(dir);
  const refused = async (name: string, file: string, pass: string, message: RegExp) => {
    const r = await cli(ctx, `backup restore --passphrase-file ${await passFile(t, pass)} ${file}`);
    t.equal(r.code, 1, `${name}: exit 1`);
    t.match(r.err, message, name);
    t.same(await tree(dir), before, `${name}: the data folder is unchanged`);
  };
  await refused('wrong passphrase', good, 'not the passphrase', /^backup restore: wrong passphrase/);

  const bytes = await readFile(good);
  const damaged = join(usb, 'damaged.age');
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 200]! ^= 0x40;
  await writeFile(damaged, flipped);
  await refused('one flipped byte', damaged, passphrase, /^backup restore: the backup is damaged/);

  const short = join(usb, 'short.age');
  await writeFile(short, bytes);
  await truncate(short, bytes.length - 700);
  await refused('truncated', short, passphrase, /^backup restore: the backup is damaged/);

  const plain = join(usb, 'notes.txt');
  await writeFile(plain, 'just some text\n');
  await refused('not a backup', plain, passphrase, /^backup restore: .*notes\.txt is not a Yubin backup/);

  // A well-formed, correctly encrypted archive that tries to write outside what a backup holds.
  const evil = join(usb, 'evil.age');
  await writeFile(evil, await sealTar(passphrase, [['data/config.json', '{"version":1,"settings":{},"users":{},"aliases":{}}\n'], ['data/spool/x', 'queued twice']]));
  await refused('a path no backup holds', evil, passphrase, /^backup restore: the backup holds "data\/spool\/x", which a Yubin backup may not/);

  const noManifest = join(usb, 'nomanifest.age');
  await writeFile(noManifest, await sealTar(passphrase, [['data/config.json', '{}\n']]));
  await refused('no manifest', noManifest, passphrase, /no manifest\.json/);

  const verify = await cli(ctx, `backup verify --passphrase-file ${await passFile(t)} ${good}`);
  t.match(verify.out, /^backup good: \d+ files \(settings and mail\) from mx\.yubin\.test/);
  t.same(await tree(dir), before, 'verify changes nothing either');
});

/** An age file of a tar built with the tar tool, as an attacker or another program would make it. */
async function sealTar(pass: string, files: Array<[string, string]>): Promise<Uint8Array> {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const src = await mkdtemp(join(tmpdir(), 'yubin-evil-'));
  for (const [path, text] of files) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), text);
  }
  const tarBytes = (await import('node:child_process')).execFileSync('tar', ['-cf', '-', '-C', src, ...files.map(([p]) => p)]);
  const e = new Encrypter();
  e.setPassphrase(pass);
  e.setScryptWorkFactor(10);
  return e.encrypt(new Uint8Array(tarBytes));
}

t.test('a backup is a standard age file: the age tool decrypts it and tar lists it', async (t) => {
  const { ctx } = await smallBoard(t);
  const dir = await tempDir(t);
  const file = join(dir, 'b.age');
  t.equal((await cli(ctx, `backup create --passphrase-file ${await passFile(t)} ${file}`)).code, 0);
  // age reads a passphrase from the terminal only: script(1) gives it one.
  const out = join(dir, 'b.tar');
  const r = await run('script', ['-qec', `age -d -o ${out} ${file}`, '/dev/null'], { input: `${passphrase}\n`, timeoutMs: 60_000 });
  t.equal(r.code, 0, `age -d exits 0 (${r.stderr.trim()})`);
  const list = await run('tar', ['-tf', out]);
  t.match(list.stdout, /^data\/config\.json$/m);
  t.match(list.stdout, /^data\/secrets\/apop\.json$/m);
  t.match(list.stdout, /^manifest\.json$/m, 'the manifest is in it');
  t.notMatch(list.stdout, /^data\/mail\//m, 'no mail without --with-mail');
  const manifest = JSON.parse((await run('tar', ['-xOf', out, 'manifest.json'])).stdout);
  t.equal(manifest.format, 'yubin-backup');
  t.ok(manifest.files.every((f: { sha256: string }) => /^[0-9a-f]{64}$/.test(f.sha256)), 'a SHA-256 per file');
  t.equal((await stat(file)).mode & 0o077, 0, 'the file is private (0600)');
});

t.test('a backup of the older configuration schema restores under the new key names', async (t) => {
  const dir = await tempDir(t);
  // An older firmware's config.json: pop3.authDelayMs became login.delayMs (src/anvil/settings.ts RENAMED).
  const old = JSON.stringify({ version: 1, settings: { 'pop3.authDelayMs': 1500, domains: ['old.test'] }, users: {}, aliases: {} });
  const manifestFor = (text: string, version = 1) => JSON.stringify({
    format: 'yubin-backup', version, created: new Date().toISOString(), firmware: '0.0.9', hostname: 'old', parts: ['settings'], configVersion: 1,
    files: [{ path: 'config.json', size: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') }],
  });
  const file = join(dir, 'old.age');
  await writeFile(file, await sealTar(passphrase, [['data/config.json', old], ['manifest.json', manifestFor(old)]]));
  const target = await tempDir(t);
  const ctx = await openCtx(t, target);
  const r = await cli(ctx, `backup restore --passphrase-file ${await passFile(t)} ${file}`);
  t.equal(r.code, 0, r.err);
  t.equal(ctx.store.get('login.delayMs'), 1500, 'read under the new name');
  t.same(ctx.store.get('domains'), ['old.test']);
  t.match(ctx.store.db.migrations, [{ from: 1, to: 2 }], 'the migration is recorded in the restored file (src/config/migrations.ts)');

  const newer = join(dir, 'newer.age');
  await writeFile(newer, await sealTar(passphrase, [['data/config.json', old], ['manifest.json', manifestFor(old, 2)]]));
  const n = await cli(ctx, `backup restore --passphrase-file ${await passFile(t)} ${newer}`);
  t.equal(n.code, 1);
  t.match(n.err, /backup version 2 is newer than this firmware reads \(1\): upgrade the firmware first/);
});

t.test('backup create asks for the passphrase twice and refuses a short one', async (t) => {
  const { ctx } = await smallBoard(t);
  const file = join(await tempDir(t), 'x.age');
  const short = await cli(ctx, `backup create ${file}`, ['short']);
  t.equal(short.code, 2);
  t.match(short.err, /passphrase: too short/);
  const differ = await cli(ctx, `backup create ${file}`, [passphrase, 'something else entirely']);
  t.match(differ.err, /the two entries differ/);
  await t.rejects(stat(file), 'no file written');
});

t.test('first-boot setup offers the restore: a board reset to nothing comes back from a backup, with the old admin password', async (t) => {
  const { dir, ctx } = await smallBoard(t);
  await setAdminPassword(ctx, 'old-admin-password');
  const file = join(await tempDir(t, 'yubin-backup-out-'), 'board.age');
  t.equal((await cli(ctx, `backup create ${file}`, [passphrase, passphrase])).code, 0);
  ctx.store.close();
  await requestReset(dir, 'all');
  t.equal(await applyPendingReset(dir), 'all');
  const fresh = await openCtx(t, dir);
  t.equal(hasAdminPassword(fresh), false, 'a new board: first-boot setup');
  const prompts: string[] = [];
  const answers = ['new-admin-password', 'new-admin-password', 'restore', file, passphrase];
  let out = '';
  const code = await runCommand(['setup'], {
    ctx: fresh,
    surface: 'console',
    out: { write: (s) => void (out += s) },
    err: { write: (s) => void (out += s) },
    prompt: async (q) => (prompts.push(q), answers.shift() ?? null),
    hooks: { restoreBackup: restoreFromSetup },
  });
  t.equal(code, 0, out);
  t.same(prompts.slice(2), ['Set up anew, or restore a backup? (new/restore) [new]: ', 'Backup file: ', 'Backup passphrase: '], 'no further setup question');
  t.match(out, /restored \d+ files from mx\.yubin\.test/);
  t.match(out, /the admin password is now the one of the board the backup was made on/);
  t.ok(fresh.users.get('alice'), 'the user is back');
  t.ok(await checkAdminPassword(fresh, 'old-admin-password'), 'the backed-up admin password logs in');
  t.equal(await readFile(join(dir, 'mail/alice/new/1.M1P1.mx'), 'utf8').catch(() => null), null, 'a settings-only backup brings no mail');
});

t.test('first-boot setup: a backup that does not restore leaves the board new', async (t) => {
  const dir = await tempDir(t, 'yubin-backup-new-');
  const ctx = await openCtx(t, dir);
  const junk = join(dir, 'junk.age');
  await writeFile(junk, 'not a backup');
  let out = '';
  const answers = ['new-admin-password', 'new-admin-password', 'restore', junk, passphrase];
  await runCommand(['setup'], {
    ctx,
    surface: 'console',
    out: { write: (s) => void (out += s) },
    err: { write: (s) => void (out += s) },
    prompt: async () => answers.shift() ?? null,
    hooks: { restoreBackup: restoreFromSetup },
  });
  t.match(out, /nothing restored/);
  t.equal(hasAdminPassword(ctx), false, 'still no admin password: the console starts the setup again');
  t.same(ctx.users.list(), []);
});

t.test('a backup that cannot be written says where and why: no stick (read-only), not a folder', async (t) => {
  const { dir, ctx } = await smallBoard(t);
  const plain = join(dir, 'plain-file');
  await writeFile(plain, 'x');
  const notDir = await cli(ctx, `backup create --passphrase-file ${await passFile(t)} ${join(plain, 'board.age')}`);
  t.equal(notDir.code, 1);
  t.match(notDir.err, /backup create: .*plain-file is not a folder/);
  // The board's /media/usb without a stick is the read-only root: the CLI in a mount namespace of
  // its own where that folder is a read-only tmpfs.
  const stick = await tempDir(t, 'yubin-no-stick-');
  const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"', stick,
    process.execPath, join(import.meta.dirname, '../../firmware/yubin.ts'), '--data', dir, 'backup', 'create', '--passphrase-file', await passFile(t), join(stick, 'board.age')]);
  t.not(r.code, 0);
  t.match(r.stderr, /backup create: .* is read-only: is a USB stick plugged in\? \(the board image mounts one at \/media\/usb\)/);
});
