// The command language as the CLI and the console run it: what the operator reads, exit codes.
import t, { type Test } from 'tap';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore } from '../../src/config/store.ts';
import type { EventMap } from '../../src/events/bus.ts';
import { type Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { createAlertEngine } from '../../src/alerts/engine.ts';
import { runCommand, commands, splitWords, type CommandHooks, type Surface } from '../../firmware/commands/index.ts';
import { createContext } from '../../firmware/context.ts';

async function setup(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-cmd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await ConfigStore.open(dir);
  // As the firmware and the CLI make it: the store's changes reach the bus.
  const ctx: Context = createContext(dir, store, stderrLogger('error'));
  return ctx;
}

/** Run one command line; answers are fed to prompts in order. */
async function cli(ctx: Context, line: string, opts: { answers?: string[]; hooks?: CommandHooks; surface?: Surface } = {}) {
  let out = '';
  let err = '';
  const prompts: string[] = [];
  const answers = [...(opts.answers ?? [])];
  const code = await runCommand(splitWords(line), {
    ctx,
    surface: opts.surface ?? 'cli',
    out: { write: (s) => void (out += s) },
    err: { write: (s) => void (err += s) },
    prompt: async (q, o) => {
      prompts.push(`${q}${o?.secret ? ' (secret)' : ''}`);
      return answers.shift() ?? null;
    },
    hooks: opts.hooks ?? {},
  });
  return { code, out, err, prompts };
}

t.test('config set refuses a bad value naming the key and the allowed values, exit 2', async (t) => {
  const ctx = await setup(t);
  const r = await cli(ctx, 'config set smtp.maxSize banana');
  t.equal(r.code, 2);
  t.equal(r.err, 'smtp.maxSize: "banana" is not allowed: expected an integer from 1024 to 1073741824\n');
  const u = await cli(ctx, 'config set smtp.nope 1');
  t.equal(u.code, 2);
  t.match(u.err, /^smtp\.nope: unknown key/);
});

t.test('config set saves at once; config get and show read it back', async (t) => {
  const ctx = await setup(t);
  const changed: EventMap['config.changed'][] = [];
  ctx.bus.on('config.changed', (e) => changed.push(e));
  t.same(await cli(ctx, 'config set smtp.maxSize 10M'), { code: 0, out: 'smtp.maxSize = 10485760\n', err: '', prompts: [] });
  t.same(changed, [{ keys: ['smtp.maxSize'] }], 'running stations hear of the change');
  const reopened = await ConfigStore.open(ctx.dataDir);
  t.equal(reopened.get('smtp.maxSize'), 10485760, 'durable: a new store reads it');
  t.equal((await cli(ctx, 'config get smtp.maxSize')).out, '10485760\n');
  const show = await cli(ctx, 'config show --doc');
  t.match(show.out, /smtp\.maxSize = 10485760   \(changed\)\n    Largest message/);
  t.match(show.out, /console\.passwordHash = \(not set\)/, 'the admin hash is never printed');
  t.match(show.out, /op25b\.enabled = false\n/);
});

t.test('user add asks for the password twice without echo; list, passwd, apop, del', async (t) => {
  const ctx = await setup(t);
  const add = await cli(ctx, 'user add Alice', { answers: ['correct horse', 'correct horse'] });
  t.same(add.prompts, ['New password for alice:  (secret)', 'Repeat password for alice:  (secret)']);
  t.equal(add.out, 'added alice: alice@localhost\n');
  t.equal(await ctx.users.authenticate('alice', 'correct horse'), 'alice');
  const mismatch = await cli(ctx, 'user add bob', { answers: ['password1', 'password2'] });
  t.equal(mismatch.code, 2);
  t.equal(mismatch.err, 'password: the two entries differ; nothing changed\n');
  t.equal((await cli(ctx, 'user add bob --password short')).err, 'password: too short: use at least 8 characters\n');
  t.same(await cli(ctx, 'user add bob', { answers: ['short', 'short'] }), { code: 2, out: '', err: 'password: too short: use at least 8 characters\n', prompts: ['New password for bob:  (secret)'] },
    'a typed password that is too short is refused at once, not after typing it again');
  t.equal((await cli(ctx, 'user add alice --password whatever1')).err, 'user: alice already exists\n');
  t.equal((await cli(ctx, 'user add "bad name" --password whatever1')).code, 2);
  t.equal((await cli(ctx, 'user passwd alice --password "battery staple"')).out, 'password of alice changed\n');
  t.equal(await ctx.users.authenticate('alice', 'battery staple'), 'alice');
  t.equal((await cli(ctx, 'user apop alice --secret tanstaaf1')).out, 'APOP on for alice\n');
  t.equal(await ctx.users.apopSecret('alice'), 'tanstaaf1');
  t.equal((await cli(ctx, 'user list')).out, 'alice  alice@localhost  (apop)\n');
  t.same((await cli(ctx, 'user apop alice', { answers: ['tiny', 'tiny'] })).prompts, ['New APOP secret for alice:  (secret)'], 'a short APOP secret: refused after the first entry');
  t.equal((await cli(ctx, 'user apop alice --off')).out, 'APOP off for alice\n');
  t.equal(await ctx.users.apopSecret('alice'), null);
  t.equal((await cli(ctx, 'user apop nobody --secret x')).err, 'user: nobody does not exist\n');
  t.equal((await cli(ctx, 'user del alice')).out, 'removed alice\n');
  t.equal((await cli(ctx, 'user list')).out, 'no users\n');
  const bad = await cli(ctx, 'user add carol --pasword x');
  t.equal(bad.code, 2);
  t.match(bad.err, /Unknown option '--pasword'.*\nusage: user add NAME \[--password P\]/);
  t.equal((await cli(ctx, 'user add carol')).code, 1, 'input ended at the prompt: nothing added');
});

t.test('passwd refuses a too-short admin password after the first entry, before asking for it again', async (t) => {
  const ctx = await setup(t);
  const short = await cli(ctx, 'passwd', { surface: 'console', answers: ['seven77', 'seven77'] });
  t.same(short, { code: 2, out: '', err: 'password: too short: use at least 8 characters\n', prompts: ['New admin password:  (secret)'] });
  t.equal(ctx.store.get('console.passwordHash'), '', 'nothing set');
  const ok = await cli(ctx, 'passwd', { surface: 'console', answers: ['eight888', 'eight888'] });
  t.same(ok.prompts, ['New admin password:  (secret)', 'Repeat admin password:  (secret)']);
  t.equal(ok.out, 'admin password changed\n');
});

t.test('domain and alias management', async (t) => {
  const ctx = await setup(t);
  t.equal((await cli(ctx, 'domain add Example.COM.')).out, 'added example.com\n');
  t.equal((await cli(ctx, 'domain list')).out, 'localhost\nexample.com\n');
  t.equal((await cli(ctx, 'domain add bad..name')).err, 'domains: "bad..name" is not allowed: expected a domain name such as example.com\n');
  t.equal((await cli(ctx, 'domain del example.org')).err, 'domains: example.org is not a local domain\n');
  t.equal((await cli(ctx, 'domain del example.com')).code, 0);
  t.equal((await cli(ctx, 'alias add info alice bob@example.net')).out, 'info → alice, bob@example.net\n');
  t.equal((await cli(ctx, 'alias list')).out,
    'info → alice, bob@example.net\npostmaster → postmaster   (built in: the postmaster setting)\nabuse → postmaster   (built in: the postmaster setting)\n');
  t.match((await cli(ctx, 'alias add info')).err, /^usage: alias add ALIAS TARGET\.\.\./);
  t.match((await cli(ctx, 'alias add "a b" x')).err, /^alias: alias "a b" is not allowed/);
  t.equal((await cli(ctx, 'alias del info')).out, 'removed info\n');
  t.equal((await cli(ctx, 'alias del info')).err, 'alias: info does not exist\n');
  const db = JSON.parse(await readFile(join(ctx.dataDir, 'config.json'), 'utf8')) as { aliases: object };
  t.same(db.aliases, {});
});

t.test('help lists every command, and every command has help', async (t) => {
  const ctx = await setup(t);
  for (const surface of ['cli', 'console'] as const) {
    const all = await cli(ctx, 'help', { surface });
    for (const c of commands.filter((c) => !c.surfaces || c.surfaces.includes(surface))) {
      t.match(all.out, `  ${c.name}`, `help lists ${c.name} (${surface})`);
      const one = await cli(ctx, `help ${c.name}`, { surface });
      t.equal(one.code, 0);
      t.match(one.out, `${c.name}: ${c.summary}`);
      t.same(await cli(ctx, `${c.name} --help`, { surface }), one, `${c.name} --help is the same (${surface})`);
    }
  }
  t.match((await cli(ctx, 'help user add')).out, 'usage: user add NAME [--password P]');
  t.notMatch((await cli(ctx, 'help')).out, /  commit/, 'the CLI does not offer console-only commands');
  t.match((await cli(ctx, 'help')).out, /^  start {6}run the appliance/m, "the CLI's help lists yubin start");
  t.equal((await cli(ctx, 'help start')).out, 'start: run the appliance: every listener, the queue, the console\nusage: start [--config FILE] [--data DIR [--init]]\n');
  t.notMatch((await cli(ctx, 'help', { surface: 'console' })).out, /  start/, 'the console runs inside the appliance: no start there');
  t.equal((await cli(ctx, 'set smtp.maxSize 1M')).err, "set: a console command; here use 'config set KEY VALUE'\n");
  t.equal((await cli(ctx, 'frobnicate')).err, "frobnicate: unknown command; 'help' lists them\n");
  t.match((await cli(ctx, 'user')).err, /^usage:\n  user add NAME/);
  t.throws(() => splitWords('set a "b'), /unclosed " quote/);
  t.same(splitWords(`alias add 'x y' "a\\"b" c\\ d`), ['alias', 'add', 'x y', 'a"b', 'c d']);
});

t.test('console staging: set checks now, commit saves, discard drops', async (t) => {
  const ctx = await setup(t);
  const c = (line: string) => cli(ctx, line, { surface: 'console' });
  t.equal((await c('set smtp.maxSize banana')).err, 'smtp.maxSize: "banana" is not allowed: expected an integer from 1024 to 1073741824\n');
  t.equal((await c('set smtp.maxSize 2M')).out, "staged smtp.maxSize = 2097152 ('commit' saves, 'discard' drops)\n");
  t.match((await c('show config')).out, /smtp\.maxSize = 26214400   \(staged: 2097152\)/);
  t.equal((await c('discard')).out, 'discarded 1 staged setting\n');
  await c('set smtp.maxSize 2M');
  await c('set op25b.exemptHosts 192.168.1.10, 192.168.1.11');
  t.equal((await c('commit')).out, 'committed smtp.maxSize, op25b.exemptHosts\n');
  t.same((await ConfigStore.open(ctx.dataDir)).get('op25b.exemptHosts'), ['192.168.1.10', '192.168.1.11']);
  t.equal((await c('commit')).out, 'nothing staged\n');
});

t.test('show, alert ack, check and restart degrade to "not available" without their station', async (t) => {
  const ctx = await setup(t);
  const c = (line: string, hooks: CommandHooks = {}) => cli(ctx, line, { surface: 'console', hooks });
  for (const line of ['show queue', 'show alerts', 'show firewall', 'alert ack', 'check dns', 'restart']) {
    const r = await c(line);
    t.equal(r.code, 1, line);
    t.match(r.err, /: not available/, line);
  }
  t.match((await c('show status')).out, /^Yubin on yubin\.localdomain .*role all-in-one\nup \d+ s, RSS/);

  let restarted = 0;
  const hooks: CommandHooks = {
    queue: () => 'Q1 alice@localhost 1234 bytes',
    firewall: { status: async () => 'OP25B: on\n' },
    checks: { dns: { summary: 'resolve a name', usage: 'check dns NAME', run: async (args, out) => (out.write(`dns ${args.join(' ')} ok\n`), 0) } },
    restart: () => void restarted++,
  };
  t.equal((await c('show queue', hooks)).out, 'Q1 alice@localhost 1234 bytes\n');
  t.equal((await c('show firewall', hooks)).out, 'OP25B: on\n');
  t.equal((await c('check', hooks)).out, 'check dns NAME                   resolve a name\n');
  t.equal((await c('check dns example.com', hooks)).out, 'dns example.com ok\n');
  t.match((await c('check clamd', hooks)).err, /^check clamd: not available/);
  t.equal((await c('restart', hooks)).out, 'restarting...\nrestarted\n');
  t.equal(restarted, 1);
});

t.test('alert ack clears an alert raised by the alert engine', async (t) => {
  const ctx = await setup(t);
  const engine = createAlertEngine(ctx);
  await engine.start();
  t.teardown(() => engine.stop());
  const cleared: string[] = [];
  ctx.bus.on('alert.cleared', (a) => cleared.push(a.id));
  for (let i = 0; i < 3; i++) ctx.bus.emit('relay.denied', { client: '192.0.2.9', helo: 'x', from: 'a@b.example', rcpt: 'c@d.example', reason: 'relay' });
  const hooks = { alerts: engine };
  const shown = await cli(ctx, 'show alerts', { surface: 'console', hooks });
  const id = /#(\S+) /.exec(shown.out)?.[1];
  t.match(shown.out, /relay-attack 192\.0\.2\.9 ×3 \[active\]/);
  t.equal((await cli(ctx, 'alert ack nope', { hooks })).code, 2);
  t.equal((await cli(ctx, `alert ack ${id}`, { hooks })).out, `acknowledged #${id}\n`);
  t.same(cleared, [id]);
  t.equal((await cli(ctx, 'alert ack', { hooks })).out, 'no active alerts\n');
});
