// config get|set|show, and the console's staged editing: set, commit, discard.
import { schema, isSettingKey, restartOnly, SECRET_SETTINGS, type SettingKey } from '../../src/config/schema.ts';
import { ConfigError, parseSetting } from '../../src/config/store.ts';
import type { Context } from '../../src/context.ts';
import { parseOptions, positionals } from './options.ts';
import { resolve } from 'node:path';
import { exportConfig, importConfig } from './config-file.ts';
import type { Command, CommandEnv } from './types.ts';

export function formatValue(key: string, value: unknown): string {
  // A secret is never printed, only whether it is set.
  if ((SECRET_SETTINGS as ReadonlySet<string>).has(key)) return value === '' ? '(not set)' : '(set)';
  if (Array.isArray(value)) return value.join(', ');
  if (value === '') return '""';
  return String(value);
}

function knownKey(key: string): SettingKey {
  if (!isSettingKey(key)) throw new ConfigError(key, `unknown key (see 'config show --doc' for the list)`);
  return key;
}

/** Commit a change of settings durably. The running stations hear of it from the store
 * (config.changed, once, with the keys that changed), in this process or through the file. */
export async function commitSettings(ctx: Context, change: Record<string, unknown>): Promise<string[]> {
  const keys = Object.keys(change);
  await ctx.store.update((db) => {
    for (const [key, value] of Object.entries(change)) db.settings[key] = value;
  });
  return keys;
}

/** What to tell the admin about keys that apply only at the next start; '' when all apply live. */
export function restartNote(keys: readonly string[]): string {
  const later = restartOnly(keys);
  if (later.length === 0) return '';
  return `${later.join(', ')} ${later.length === 1 ? 'takes' : 'take'} effect after restart`;
}

const applies = (key: SettingKey): string => (schema[key].applies === 'live' ? 'live' : 'after restart');

function showConfig(env: CommandEnv, doc: boolean): void {
  const { store } = env.ctx;
  const staged = store.staged();
  for (const [key, s] of Object.entries(schema)) {
    const value = store.settings[key as SettingKey];
    const isDefault = JSON.stringify(value) === JSON.stringify(s.default);
    let line = `${key} = ${formatValue(key, value)}${isDefault ? '' : '   (changed)'}`;
    if (staged.has(key)) line += `   (staged: ${formatValue(key, staged.get(key))})`;
    env.out.write(line + '\n');
    if (doc) env.out.write(`    ${s.doc}\n    allowed: ${s.kind.allowed}; default: ${formatValue(key, s.default)}; takes effect: ${applies(key as SettingKey)}\n`);
  }
}

export const configCommand: Command = {
  name: 'config',
  summary: 'read and change settings (saved at once; most apply live, --doc says which need a restart)',
  subcommands: [
    {
      name: 'get',
      summary: 'print one setting',
      usage: 'config get KEY',
      run(args, env) {
        const [key] = positionals(args, 1, 'config get KEY');
        env.out.write(formatValue(key!, env.ctx.store.settings[knownKey(key!)]) + '\n');
        return 0;
      },
    },
    {
      name: 'set',
      summary: 'check and save one setting',
      usage: 'config set KEY VALUE',
      async run(args, env) {
        if (args.length < 2) positionals(args, 2, 'config set KEY VALUE');
        const [key, ...rest] = args as [string, ...string[]];
        const value = parseSetting(key, rest.join(' '));
        await commitSettings(env.ctx, { [key]: value });
        const later = restartNote([key]);
        env.out.write(`${key} = ${formatValue(key, value)}${later ? ` (takes effect after restart)` : ''}\n`);
        return 0;
      },
    },
    {
      name: 'export',
      summary: 'print the settings that differ from their defaults as JSON; --accounts adds users and aliases, --secrets password hashes and passwords (marked)',
      usage: 'config export [--accounts] [--secrets] > FILE',
      async run(args, env) {
        const usage = 'config export [--accounts] [--secrets] > FILE';
        const { values, positionals: rest } = parseOptions(args, { accounts: { type: 'boolean' }, secrets: { type: 'boolean' } }, usage);
        positionals(rest, 0, usage);
        const file = await exportConfig(env.ctx, { accounts: values.accounts === true, secrets: values.secrets === true });
        env.out.write(JSON.stringify(file, null, 2) + '\n');
        return 0;
      },
    },
    {
      name: 'import',
      summary: 'check a file from config export as a whole and commit it in one write; --replace resets what it does not name',
      usage: 'config import FILE [--replace]',
      async run(args, env) {
        const usage = 'config import FILE [--replace]';
        const { values, positionals: rest } = parseOptions(args, { replace: { type: 'boolean' } }, usage);
        const [file] = positionals(rest, 1, usage);
        const done = await importConfig(env.ctx, resolve(env.cwd ?? process.cwd(), file!), { replace: values.replace === true });
        const parts = [`${done.settings.length} setting${done.settings.length === 1 ? '' : 's'}`];
        if (done.users.length > 0) parts.push(`${done.users.length} user${done.users.length === 1 ? '' : 's'}`);
        if (done.aliases > 0) parts.push(`${done.aliases} alias${done.aliases === 1 ? '' : 'es'}`);
        env.out.write(`imported ${parts.join(', ')} from ${file}\n`);
        if (done.withoutPassword.length > 0) env.out.write(`no password in the file for ${done.withoutPassword.join(', ')}: set one with 'user passwd NAME' (until then they cannot log in)\n`);
        const later = restartNote(done.settings);
        if (later) env.out.write(`${later}\n`);
        return 0;
      },
    },
    {
      name: 'show',
      summary: 'print every setting; --doc adds what each means, what it allows, its default and when it takes effect',
      usage: 'config show [--doc]',
      run(args, env) {
        const { values, positionals: rest } = parseOptions(args, { doc: { type: 'boolean' } }, 'config show [--doc]');
        positionals(rest, 0, 'config show [--doc]');
        showConfig(env, values.doc === true);
        return 0;
      },
    },
  ],
};

export const setCommand: Command = {
  name: 'set',
  summary: "stage a setting (checked now, saved by 'commit')",
  usage: 'set KEY VALUE',
  surfaces: ['console'],
  run(args, env) {
    if (args.length < 2) positionals(args, 2, 'set KEY VALUE');
    const [key, ...rest] = args as [string, ...string[]];
    env.ctx.store.stage(key, rest.join(' '));
    const later = restartNote([key]) ? '; it takes effect after restart' : '';
    env.out.write(`staged ${key} = ${formatValue(key, env.ctx.store.staged().get(key))} ('commit' saves, 'discard' drops${later})\n`);
    return 0;
  },
};

export const commitCommand: Command = {
  name: 'commit',
  summary: 'save the staged settings durably and apply them (those marked restart at the next start)',
  usage: 'commit',
  surfaces: ['console'],
  async run(args, env) {
    positionals(args, 0, 'commit');
    const staged = Object.fromEntries(env.ctx.store.staged());
    if (Object.keys(staged).length === 0) {
      env.out.write('nothing staged\n');
      return 0;
    }
    await commitSettings(env.ctx, staged);
    env.ctx.store.discard();
    const later = restartNote(Object.keys(staged));
    env.out.write(`committed ${Object.keys(staged).join(', ')}${later ? `; ${later} ('restart' applies it now)` : ''}\n`);
    return 0;
  },
};

export const discardCommand: Command = {
  name: 'discard',
  summary: 'drop the staged settings',
  usage: 'discard',
  surfaces: ['console'],
  run(args, env) {
    positionals(args, 0, 'discard');
    const n = env.ctx.store.staged().size;
    env.ctx.store.discard();
    env.out.write(`discarded ${n} staged setting${n === 1 ? '' : 's'}\n`);
    return 0;
  },
};

export { showConfig };
