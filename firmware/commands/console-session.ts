// passwd, logout: the admin's own console session; admin passwd: the same password from anywhere.
import { positionals } from './options.ts';
import { askNewSecret } from './secrets.ts';
import { setAdminPassword, adminPasswordRules } from '../console/admin.ts';
import type { Command } from './types.ts';

export const passwdCommand: Command = {
  name: 'passwd',
  summary: 'change the console admin password',
  usage: 'passwd',
  surfaces: ['console'],
  async run(args, env) {
    positionals(args, 0, 'passwd');
    await setAdminPassword(env.ctx, await askNewSecret(env, 'admin password', { check: adminPasswordRules }));
    env.out.write('admin password changed\n');
    return 0;
  },
};

export const logoutCommand: Command = {
  name: 'logout',
  summary: 'end the console session (also: exit, Ctrl-D)',
  usage: 'logout',
  surfaces: ['console'],
  run(args, env) {
    positionals(args, 0, 'logout');
    env.logout?.();
    return 0;
  },
};

/** `admin passwd`: the console admin password, from the CLI too (the first one included). */
export const adminCommand: Command = {
  name: 'admin',
  summary: 'the console admin password: admin passwd sets it (the first one too, before any console login)',
  subcommands: [
    {
      name: 'passwd',
      summary: 'set the console admin password (asks for it twice, without echo)',
      usage: 'admin passwd',
      async run(args, env) {
        positionals(args, 0, 'admin passwd');
        await setAdminPassword(env.ctx, await askNewSecret(env, 'admin password', { check: adminPasswordRules }));
        env.out.write('admin password set\n');
        return 0;
      },
    },
  ],
};
