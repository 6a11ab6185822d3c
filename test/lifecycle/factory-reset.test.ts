// factory-reset as the console runs it: it says what it erases, asks twice, and the reset is
// carried out at the next start; the settings level keeps the mail, and the console then asks
// for a new admin password as on a new board.
import t, { type Test } from 'tap';
import { readdir, writeFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigStore } from '../../src/config/store.ts';
import { VERSIONS_DIR } from '../../src/config/migrations.ts';
import { type Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { keygen } from '../../src/dkimsign/keys.ts';
import { runCommand, splitWords } from '../../firmware/commands/index.ts';
import { createContext } from '../../firmware/context.ts';
import { applyPendingReset, pendingReset } from '../../firmware/lifecycle/reset.ts';
import { hasAdminPassword, setAdminPassword } from '../../firmware/console/admin.ts';
import { tempDir, seed, BASE_SETTINGS } from '../support/firmware.ts';

async function board(t: Test): Promise<Context> {
  const dir = await tempDir(t, 'yubin-reset-');
  await seed(dir, { ...BASE_SETTINGS }, [{ name: 'alice', password: 'alice-password' }]);
  const store = await ConfigStore.open(dir);
  t.teardown(() => store.close());
  const ctx = createContext(dir, store, stderrLogger('error'));
  await setAdminPassword(ctx, 'admin-password');
  await keygen(dir, 'yubin.test', { algorithm: 'ed25519-sha256' });
  await mkdir(join(dir, 'mail/alice/new'), { recursive: true });
  await writeFile(join(dir, 'mail/alice/new/1.M1P1.mx'), 'Subject: kept\r\n\r\nkept\r\n');
  return ctx;
}

async function console(ctx: Context, line: string, answers: string[], reset?: () => string) {
  let out = '';
  const prompts: string[] = [];
  const queue = [...answers];
  const code = await runCommand(splitWords(line), {
    ctx,
    surface: 'console',
    out: { write: (s) => void (out += s) },
    err: { write: (s) => void (out += s) },
    prompt: async (q) => {
      prompts.push(q);
      return queue.shift() ?? null;
    },
    hooks: reset ? { reset } : {},
  });
  return { code, out, prompts };
}

t.test('factory-reset says what it erases and asks twice; a wrong answer cancels it', async (t) => {
  const ctx = await board(t);
  const noErase = await console(ctx, 'factory-reset', ['1', 'yes']);
  t.equal(noErase.code, 1);
  t.match(noErase.out, /1 {2}settings: erases the configuration, users .*mailboxes, the queue, the archive and the quarantine are kept/);
  t.match(noErase.out, /2 {2}all: erases the whole data partition/);
  t.match(noErase.out, /factory-reset: cancelled/);
  const wrongHost = await console(ctx, 'factory-reset --settings', ['erase', 'not-the-host']);
  t.equal(wrongHost.code, 1);
  t.same(wrongHost.prompts, ["Type 'erase' to go on: ", `Really erase? Type the hostname (${BASE_SETTINGS.hostname}) to confirm: `]);
  t.equal(await pendingReset(ctx.dataDir), null, 'nothing requested');
});

t.test('settings level: configuration, users, secrets, DKIM keys go; mail stays; the console asks for a new password', async (t) => {
  const ctx = await board(t);
  let asked = 0;
  const r = await console(ctx, 'factory-reset', ['1', 'erase', BASE_SETTINGS.hostname], () => {
    asked += 1;
    return 'restarting Yubin to reset';
  });
  t.equal(r.code, 0, r.out);
  t.equal(asked, 1, 'the firmware is asked to carry it out');
  t.match(r.out, /restarting Yubin to reset\n$/);
  t.equal(await pendingReset(ctx.dataDir), 'settings', 'the request is on disk: a power cut now only means it is done at the next start');
  ctx.store.close();
  // The copies an older firmware would go back to are settings too (src/config/migrations.ts).
  await mkdir(join(ctx.dataDir, VERSIONS_DIR));
  await writeFile(join(ctx.dataDir, VERSIONS_DIR, 'config.v1.json'), '{}');
  t.equal(await applyPendingReset(ctx.dataDir), 'settings');
  t.same((await readdir(ctx.dataDir)).sort(), ['mail'], 'only the mail is left');
  t.equal(await readFile(join(ctx.dataDir, 'mail/alice/new/1.M1P1.mx'), 'utf8'), 'Subject: kept\r\n\r\nkept\r\n');
  const fresh = await ConfigStore.open(ctx.dataDir);
  t.teardown(() => fresh.close());
  const after = createContext(ctx.dataDir, fresh, stderrLogger('error'));
  t.same(after.users.list(), [], 'no users');
  t.equal(hasAdminPassword(after), false, 'first-boot setup runs again: the console asks for an admin password');
  t.equal(await applyPendingReset(ctx.dataDir), null, 'done once');
});
