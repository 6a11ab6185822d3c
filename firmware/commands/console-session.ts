// passwd, logout: the admin's own console session.
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
