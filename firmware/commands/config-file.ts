// config export / config import: the board's settings as one JSON file, to set up a board in one
// step or to move one. Export writes the settings that differ from their defaults; --accounts adds
// users and aliases, --secrets adds what is secret (password hashes, the smarthost and MQTT
// passwords, APOP secrets), apart, under "secrets". Import checks the whole file against the
// schema before anything is written, names every bad key, and commits in one durable write.
import { readFile } from 'node:fs/promises';
import { schema, isSettingKey, defaults, SECRET_SETTINGS, type SettingKey } from '../../src/config/schema.ts';
import { ConfigError, type Db, type UserRecord } from '../../src/config/store.ts';
import { RENAMED } from '../../src/anvil/settings.ts';
import { USER_NAME_RE } from '../../src/accounts/users.ts';
import { PASSWORD_HASH_RE } from '../console/settings.ts';
import type { Context } from '../../src/context.ts';
import { parseAddress } from './accounts.ts';

export const FORMAT = 'yubin-config';

export interface ExportedUser {
  addresses: string[];
  quota?: number;
  apop: boolean;
}

export interface ConfigFile {
  format: typeof FORMAT;
  version: 1;
  /** Settings that differ from their defaults, in schema order (secret ones only under secrets). */
  settings: Record<string, unknown>;
  users?: Record<string, ExportedUser>;
  aliases?: Record<string, string[]>;
  /** Present only when asked for (config export --secrets): keep such a file private. */
  secrets?: {
    warning: string;
    settings?: Record<string, unknown>;
    users?: Record<string, { passwordHash?: string; apopSecret?: string }>;
  };
}

export async function exportConfig(ctx: Context, options: { accounts: boolean; secrets: boolean }): Promise<ConfigFile> {
  const { store, users } = ctx;
  const stored = store.db.settings;
  const settings: Record<string, unknown> = {};
  const secretSettings: Record<string, unknown> = {};
  for (const key of Object.keys(schema) as SettingKey[]) {
    if (!Object.hasOwn(stored, key)) continue;
    const value = store.settings[key];
    if (JSON.stringify(value) === JSON.stringify(schema[key].default)) continue;
    if (SECRET_SETTINGS.has(key)) secretSettings[key] = value;
    else settings[key] = value;
  }
  const out: ConfigFile = { format: FORMAT, version: 1, settings };
  const secretUsers: Record<string, { passwordHash?: string; apopSecret?: string }> = {};
  if (options.accounts) {
    out.users = {};
    for (const name of users.list()) {
      const u = users.get(name)!;
      out.users[name] = { addresses: [...u.addresses], ...(u.quota !== undefined ? { quota: u.quota } : {}), apop: u.apop };
      if (options.secrets) {
        const apop = await users.apopSecret(name);
        secretUsers[name] = { ...(u.passwordHash ? { passwordHash: u.passwordHash } : {}), ...(apop !== null ? { apopSecret: apop } : {}) };
      }
    }
    out.aliases = Object.fromEntries(Object.entries(store.db.aliases).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, [...v]]));
  }
  if (options.secrets) {
    out.secrets = {
      warning: 'secret values (password hashes, passwords, APOP secrets): keep this file private',
      settings: secretSettings,
      ...(options.accounts ? { users: secretUsers } : {}),
    };
  }
  return out;
}

/** What an import will write, once the whole file has been checked. */
export interface ImportPlan {
  settings: Record<string, unknown>;
  users?: Record<string, ExportedUser & { passwordHash?: string }>;
  aliases?: Record<string, string[]>;
  apop: Record<string, string>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Check a parsed file as a whole; throws one ConfigError listing every bad key. */
export function checkConfigFile(data: unknown, file: string): ImportPlan {
  const problems: string[] = [];
  const bad = (key: string, what: string) => problems.push(`${key}: ${what}`);
  if (!isObject(data)) throw new ConfigError(file, 'not a Yubin config file: expected a JSON object (see config export)');
  if (data.format !== FORMAT) bad('format', `expected "${FORMAT}" (a file made by config export)`);
  if (data.version !== 1) bad('version', 'expected 1');
  for (const key of Object.keys(data)) if (!['format', 'version', 'settings', 'users', 'aliases', 'secrets'].includes(key)) bad(key, 'unknown section');

  const settings: Record<string, unknown> = {};
  const takeSettings = (section: unknown, where: string) => {
    if (section === undefined) return;
    if (!isObject(section)) return bad(where, 'expected an object of settings');
    for (const [raw, value] of Object.entries(section)) {
      const key = (RENAMED as Record<string, string>)[raw] ?? raw;
      if (!isSettingKey(key)) {
        bad(`${where}.${raw}`, "unknown key (see 'config show --doc' for the list)");
        continue;
      }
      const wrong = schema[key].kind.check(value);
      if (wrong !== null) bad(`${where}.${raw}`, `${JSON.stringify(value)} is not allowed: expected ${wrong}`);
      else settings[key] = value;
    }
  };
  takeSettings(data.settings, 'settings');

  const secrets = data.secrets;
  if (secrets !== undefined && !isObject(secrets)) bad('secrets', 'expected an object');
  const secretSection = isObject(secrets) ? secrets : {};
  for (const key of Object.keys(secretSection)) if (!['warning', 'settings', 'users'].includes(key)) bad(`secrets.${key}`, 'unknown section');
  takeSettings(secretSection.settings, 'secrets.settings');

  let users: ImportPlan['users'];
  if (data.users !== undefined) {
    if (!isObject(data.users)) bad('users', 'expected an object of users');
    else {
      users = {};
      for (const [name, u] of Object.entries(data.users)) {
        const at = `users.${name}`;
        if (!USER_NAME_RE.test(name)) bad(at, 'not allowed as a user name: expected 1-64 of a-z 0-9 . _ - starting with a letter or digit');
        if (!isObject(u)) {
          bad(at, 'expected { addresses, quota?, apop }');
          continue;
        }
        for (const key of Object.keys(u)) if (!['addresses', 'quota', 'apop'].includes(key)) bad(`${at}.${key}`, 'unknown key');
        const addresses = Array.isArray(u.addresses) ? u.addresses : [];
        if (!Array.isArray(u.addresses) || addresses.some((a) => typeof a !== 'string' || !a.includes('@'))) bad(`${at}.addresses`, 'expected a list of addresses such as info@example.com');
        if (u.quota !== undefined && !(Number.isInteger(u.quota) && (u.quota as number) >= 0)) bad(`${at}.quota`, 'expected a number of bytes (0: unlimited)');
        if (u.apop !== undefined && typeof u.apop !== 'boolean') bad(`${at}.apop`, 'expected true or false');
        users[name] = { addresses: addresses.map((a) => String(a).toLowerCase()), ...(u.quota !== undefined ? { quota: u.quota as number } : {}), apop: u.apop === true };
      }
    }
  }

  const apop: Record<string, string> = {};
  if (secretSection.users !== undefined) {
    if (!isObject(secretSection.users)) bad('secrets.users', 'expected an object of users');
    else {
      for (const [name, s] of Object.entries(secretSection.users)) {
        const at = `secrets.users.${name}`;
        if (!users?.[name]) {
          bad(at, 'no such user in the users section');
          continue;
        }
        if (!isObject(s)) {
          bad(at, 'expected { passwordHash?, apopSecret? }');
          continue;
        }
        for (const key of Object.keys(s)) if (!['passwordHash', 'apopSecret'].includes(key)) bad(`${at}.${key}`, 'unknown key');
        if (s.passwordHash !== undefined) {
          if (typeof s.passwordHash !== 'string' || s.passwordHash === '' || !PASSWORD_HASH_RE.test(s.passwordHash)) bad(`${at}.passwordHash`, 'expected an scrypt hash as config export writes it');
          else users[name]!.passwordHash = s.passwordHash;
        }
        if (s.apopSecret !== undefined) {
          if (typeof s.apopSecret !== 'string' || s.apopSecret.length < 8) bad(`${at}.apopSecret`, 'expected a secret of at least 8 characters');
          else apop[name] = s.apopSecret;
        }
      }
    }
  }

  let aliases: ImportPlan['aliases'];
  if (data.aliases !== undefined) {
    if (!isObject(data.aliases)) bad('aliases', 'expected an object of aliases');
    else {
      aliases = {};
      for (const [alias, targets] of Object.entries(data.aliases)) {
        const at = `aliases.${alias}`;
        try {
          parseAddress(alias, 'alias');
          if (!Array.isArray(targets) || targets.length === 0 || targets.length > 100) throw new ConfigError('alias', 'expected a list of 1 to 100 targets');
          aliases[alias.toLowerCase()] = targets.map((x) => parseAddress(String(x), 'target'));
        } catch (err) {
          bad(at, (err as Error).message.replace(/^alias: /, ''));
        }
      }
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(file, `nothing imported; ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`);
  }
  return { settings, ...(users ? { users } : {}), ...(aliases ? { aliases } : {}), apop };
}

export interface ImportResult {
  settings: string[];
  users: string[];
  /** Users the file brought no password for (new ones cannot log in until 'user passwd'). */
  withoutPassword: string[];
  aliases: number;
}

/**
 * Read, check and commit a config file. `replace`: settings missing from the file go back to their
 * defaults, and the file's users and aliases (when it has them) replace the board's.
 */
export async function importConfig(ctx: Context, file: string, options: { replace: boolean }): Promise<ImportResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, `cannot read it: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, `not valid JSON (${(err as Error).message}); nothing imported`);
  }
  const plan = checkConfigFile(data, file);
  const withoutPassword: string[] = [];
  // One read-modify-write of config.json: validated again as a whole, written durably once.
  await ctx.store.update((db: Db) => {
    const settings = options.replace ? {} : { ...db.settings };
    const initial = defaults() as Record<string, unknown>;
    for (const [key, value] of Object.entries(plan.settings)) {
      if (JSON.stringify(value) === JSON.stringify(initial[key])) delete settings[key];
      else settings[key] = value;
    }
    // Keys the file cannot carry unless asked (secrets) stay as they are when it does not.
    if (options.replace) for (const key of SECRET_SETTINGS) if (!Object.hasOwn(plan.settings, key) && Object.hasOwn(db.settings, key)) settings[key] = db.settings[key];
    db.settings = settings;
    if (plan.users) {
      const next: Record<string, UserRecord> = options.replace ? {} : { ...db.users };
      for (const [name, u] of Object.entries(plan.users)) {
        const passwordHash = u.passwordHash ?? db.users[name]?.passwordHash ?? '';
        if (passwordHash === '') withoutPassword.push(name);
        next[name] = { passwordHash, addresses: u.addresses, apop: u.apop && (plan.apop[name] !== undefined || db.users[name]?.apop === true), ...(u.quota !== undefined ? { quota: u.quota } : {}) };
      }
      db.users = next;
    }
    if (plan.aliases) db.aliases = options.replace ? { ...plan.aliases } : { ...db.aliases, ...plan.aliases };
  });
  // APOP secrets live apart from config.json (DATA/secrets/apop.json, mode 0600).
  for (const [name, secret] of Object.entries(plan.apop)) await ctx.users.setApopSecret(name, secret);
  return { settings: Object.keys(plan.settings), users: Object.keys(plan.users ?? {}), withoutPassword, aliases: Object.keys(plan.aliases ?? {}).length };
}
