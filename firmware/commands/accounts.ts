// user …, domain …, alias …: the office's mailboxes, local domains and aliases.
import { ConfigError } from '../../src/config/store.ts';
import { domain as domainKind } from '../../src/settings/kinds.ts';
import { checkUserName, passwordRules } from '../../src/accounts/users.ts';
import { ROLE_ADDRESSES } from '../../src/route/route.ts';
import { parseOptions, positionals } from './options.ts';
import { askNewSecret } from './secrets.ts';
import { commitSettings } from './config.ts';
import type { Command, CommandEnv } from './types.ts';

function apopSecretRules(secret: string): void {
  if (secret.length < 8) throw new ConfigError('apop', 'secret too short: use at least 8 characters');
}

async function passwordFrom(value: string | undefined, env: CommandEnv, name: string): Promise<string> {
  return value ?? askNewSecret(env, `password for ${name}`, { check: passwordRules });
}

function listUsers(env: CommandEnv): void {
  const { users } = env.ctx;
  const names = users.list();
  if (names.length === 0) env.out.write('no users\n');
  for (const name of names) {
    const u = users.get(name)!;
    const extra = [u.apop ? 'apop' : '', u.quota !== undefined ? `quota ${u.quota}` : ''].filter(Boolean).join(', ');
    env.out.write(`${name}  ${users.addressesOf(name).join(' ')}${extra ? `  (${extra})` : ''}\n`);
  }
}

export const userCommand: Command = {
  name: 'user',
  summary: 'add, remove and list mail users; set passwords and APOP secrets',
  subcommands: [
    {
      name: 'add',
      summary: 'add a user (asks for the password when --password is not given)',
      usage: 'user add NAME [--password P]',
      async run(args, env) {
        const { values, positionals: rest } = parseOptions(args, { password: { type: 'string' } }, 'user add NAME [--password P]');
        const [raw] = positionals(rest, 1, 'user add NAME [--password P]');
        const name = checkUserName(raw!);
        if (env.ctx.users.get(name)) throw new ConfigError('user', `${name} already exists`);
        await env.ctx.users.add(name, await passwordFrom(values.password, env, name));
        env.out.write(`added ${name}: ${env.ctx.users.addressesOf(name).join(' ')}\n`);
        return 0;
      },
    },
    {
      name: 'del',
      summary: 'remove a user (the mailbox files stay on disk)',
      usage: 'user del NAME',
      async run(args, env) {
        const [name] = positionals(args, 1, 'user del NAME');
        await env.ctx.users.remove(name!);
        env.out.write(`removed ${name!.toLowerCase()}\n`);
        return 0;
      },
    },
    {
      name: 'passwd',
      summary: "change a user's password (asks when --password is not given)",
      usage: 'user passwd NAME [--password P]',
      async run(args, env) {
        const { values, positionals: rest } = parseOptions(args, { password: { type: 'string' } }, 'user passwd NAME [--password P]');
        const [name] = positionals(rest, 1, 'user passwd NAME [--password P]');
        if (!env.ctx.users.get(name!)) throw new ConfigError('user', `${name!.toLowerCase()} does not exist`);
        await env.ctx.users.setPassword(name!, await passwordFrom(values.password, env, name!));
        env.out.write(`password of ${name!.toLowerCase()} changed\n`);
        return 0;
      },
    },
    {
      name: 'list',
      summary: 'list users and their addresses',
      usage: 'user list',
      run(args, env) {
        positionals(args, 0, 'user list');
        listUsers(env);
        return 0;
      },
    },
    {
      name: 'apop',
      summary: "set a user's APOP secret (RFC 1939 §7; asks when --secret is not given), or turn APOP off",
      usage: 'user apop NAME [--secret S | --off]',
      async run(args, env) {
        const usage = 'user apop NAME [--secret S | --off]';
        const { values, positionals: rest } = parseOptions(args, { secret: { type: 'string' }, off: { type: 'boolean' } }, usage);
        const [raw] = positionals(rest, 1, usage);
        const name = raw!.toLowerCase();
        if (!env.ctx.users.get(name)) throw new ConfigError('user', `${name} does not exist`);
        if (values.off && values.secret !== undefined) throw new ConfigError('apop', `give --secret or --off, not both\nusage: ${usage}`);
        if (values.off) {
          await env.ctx.users.setApopSecret(name, null);
          env.out.write(`APOP off for ${name}\n`);
          return 0;
        }
        const secret = values.secret ?? (await askNewSecret(env, `APOP secret for ${name}`, { key: 'apop', check: apopSecretRules }));
        apopSecretRules(secret);
        await env.ctx.users.setApopSecret(name, secret);
        env.out.write(`APOP on for ${name}\n`);
        return 0;
      },
    },
  ],
};

function parseDomain(text: string): string {
  try {
    return domainKind.parse(text);
  } catch (err) {
    throw new ConfigError('domains', `${JSON.stringify(text)} is not allowed: expected ${(err as Error).message}`);
  }
}

export const domainCommand: Command = {
  name: 'domain',
  summary: 'local domains: mail to them is accepted from anyone and kept here',
  subcommands: [
    {
      name: 'add',
      summary: 'add a local domain',
      usage: 'domain add DOMAIN',
      async run(args, env) {
        const d = parseDomain(positionals(args, 1, 'domain add DOMAIN')[0]!);
        const domains = env.ctx.store.get('domains');
        if (domains.includes(d)) throw new ConfigError('domains', `${d} is already a local domain`);
        await commitSettings(env.ctx, { domains: [...domains, d] });
        env.out.write(`added ${d}\n`);
        return 0;
      },
    },
    {
      name: 'del',
      summary: 'remove a local domain',
      usage: 'domain del DOMAIN',
      async run(args, env) {
        const d = parseDomain(positionals(args, 1, 'domain del DOMAIN')[0]!);
        const domains = env.ctx.store.get('domains');
        if (!domains.includes(d)) throw new ConfigError('domains', `${d} is not a local domain`);
        await commitSettings(env.ctx, { domains: domains.filter((x) => x !== d) });
        env.out.write(`removed ${d}\n`);
        return 0;
      },
    },
    {
      name: 'list',
      summary: 'list local domains',
      usage: 'domain list',
      run(args, env) {
        positionals(args, 0, 'domain list');
        for (const d of env.ctx.store.get('domains')) env.out.write(d + '\n');
        return 0;
      },
    },
  ],
};

// A local part, or a full address; lower-case. Targets may also be plain user names.
const ADDRESS_RE = /^[a-z0-9!#$&'*+/=?^_`{|}~.-]{1,64}(@(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$/;

export function parseAddress(text: string, what: string): string {
  const a = text.trim().toLowerCase();
  if (!ADDRESS_RE.test(a) || a.startsWith('.') || a.includes('..')) {
    throw new ConfigError('alias', `${what} ${JSON.stringify(text)} is not allowed: expected a local part or an address such as info@example.com`);
  }
  return a;
}

export const aliasCommand: Command = {
  name: 'alias',
  summary: 'aliases: one local part or address delivered to users or other addresses',
  subcommands: [
    {
      name: 'add',
      summary: 'point an alias at one or more targets (replaces its old targets)',
      usage: 'alias add ALIAS TARGET...',
      async run(args, env) {
        const [rawAlias, ...rawTargets] = positionals(args, 2, 'alias add ALIAS TARGET...', true);
        const alias = parseAddress(rawAlias!, 'alias');
        const targets = [...new Set(rawTargets.map((x) => parseAddress(x, 'target')))];
        // Bounded: a fan-out list this long is a mailing list, not an alias.
        if (targets.length > 100) throw new ConfigError('alias', 'at most 100 targets per alias');
        await env.ctx.store.update((db) => {
          db.aliases[alias] = targets;
        });
        env.out.write(`${alias} → ${targets.join(', ')}\n`);
        return 0;
      },
    },
    {
      name: 'del',
      summary: 'remove an alias',
      usage: 'alias del ALIAS',
      async run(args, env) {
        const alias = parseAddress(positionals(args, 1, 'alias del ALIAS')[0]!, 'alias');
        const local = alias.split('@')[0]!;
        if (ROLE_ADDRESSES.has(local) && (!alias.includes('@') || env.ctx.store.get('domains').includes(alias.split('@')[1]!))) {
          const rfc = local === 'postmaster' ? 'RFC 5321 §4.5.1 requires it' : 'RFC 2142 expects it';
          throw new ConfigError('alias', `${alias} cannot be removed: ${rfc} on every local domain. Point it elsewhere with 'alias add ${alias} TARGET...', or set where postmaster and abuse go with 'config set postmaster USER'`);
        }
        await env.ctx.store.update((db) => {
          if (!db.aliases[alias]) throw new ConfigError('alias', `${alias} does not exist`);
          delete db.aliases[alias];
        });
        env.out.write(`removed ${alias}\n`);
        return 0;
      },
    },
    {
      name: 'list',
      summary: 'list aliases and their targets',
      usage: 'alias list',
      run(args, env) {
        positionals(args, 0, 'alias list');
        const aliases = env.ctx.store.db.aliases;
        const entries = Object.entries(aliases).sort(([a], [b]) => a.localeCompare(b));
        for (const [alias, targets] of entries) env.out.write(`${alias} → ${targets.join(', ')}\n`);
        // postmaster and abuse always exist: show where they go when no alias of theirs says so.
        for (const role of ROLE_ADDRESSES) {
          if (!aliases[role]) env.out.write(`${role} → ${env.ctx.store.get('postmaster')}   (built in: the postmaster setting)\n`);
        }
        return 0;
      },
    },
  ],
};

export { listUsers };
