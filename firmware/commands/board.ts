// show …, alert ack, check …, restart, passwd, logout: the console's view of the running board.
import { hostname as osHostname } from 'node:os';
import { UnknownAlertError } from '../../src/alerts/engine.ts';
import { positionals } from './options.ts';
import { askNewSecret } from './secrets.ts';
import { showConfig } from './config.ts';
import { listUsers } from './accounts.ts';
import { setAdminPassword, adminPasswordRules } from '../console/admin.ts';
import type { Command, CommandEnv } from './types.ts';

function notAvailable(env: CommandEnv, what: string): number {
  env.err.write(`${what}: not available (that part of Yubin is not running here)\n`);
  return 1;
}

function showStatus(env: CommandEnv): Promise<void> | void {
  const { store, users } = env.ctx;
  const mem = process.memoryUsage();
  env.out.write(
    [
      `Yubin on ${store.get('hostname')} (${osHostname()}), role ${store.get('role')}`,
      `up ${Math.round(process.uptime())} s, RSS ${(mem.rss / 1024 / 1024).toFixed(1)} MiB, Node ${process.version}`,
      `domains: ${store.get('domains').join(', ')}; users: ${users.list().length}`,
      `staged settings: ${store.staged().size}`,
    ].join('\n') + '\n',
  );
  const extra = env.hooks.status?.();
  if (extra === undefined) return;
  return Promise.resolve(extra).then((text) => env.out.write(text.endsWith('\n') ? text : text + '\n'));
}

async function showAlerts(env: CommandEnv): Promise<number> {
  const alerts = env.hooks.alerts;
  if (!alerts) return notAvailable(env, 'show alerts');
  const list = alerts.recent();
  if (list.length === 0) env.out.write('no alerts\n');
  for (const a of list) {
    env.out.write(`#${a.id} ${a.time} ${a.severity} ${a.kind} ${a.source} ×${a.count} [${a.state}] ${a.text}\n`);
  }
  return 0;
}

const show = (name: string, summary: string, run: (env: CommandEnv) => Promise<number | void> | number | void): Command => ({
  name,
  summary,
  usage: `show ${name}`,
  async run(args, env) {
    positionals(args, 0, `show ${name}`);
    return (await run(env)) ?? 0;
  },
});

export const showCommand: Command = {
  name: 'show',
  summary: 'look at the running board',
  subcommands: [
    show('status', 'host, role, uptime, memory and what the stations report', showStatus),
    show('config', 'every setting, with staged changes', (env) => showConfig(env, false)),
    show('queue', 'messages waiting for delivery', async (env) => {
      if (!env.hooks.queue) return notAvailable(env, 'show queue');
      const text = await env.hooks.queue();
      env.out.write(text === '' ? 'queue empty\n' : text.endsWith('\n') ? text : text + '\n');
      return 0;
    }),
    show('alerts', 'recent alerts and whether they were acknowledged', showAlerts),
    show('users', 'users and their addresses', listUsers),
    show('firewall', 'the live nftables rules, OP25B counts and bans', async (env) => {
      if (!env.hooks.firewall) return notAvailable(env, 'show firewall');
      env.out.write(await env.hooks.firewall.status());
      return 0;
    }),
  ],
};

export const alertCommand: Command = {
  name: 'alert',
  summary: 'acknowledge alerts (clears the alert LED once none is left)',
  subcommands: [
    {
      name: 'ack',
      summary: 'acknowledge one alert by id, or all of them',
      usage: 'alert ack [ID]',
      run(args, env) {
        if (args.length > 1) positionals(args, 1, 'alert ack [ID]');
        if (!env.hooks.alerts) return notAvailable(env, 'alert ack');
        try {
          const cleared = env.hooks.alerts.ack(args[0]?.replace(/^#/, ''));
          env.out.write(cleared.length === 0 ? 'no active alerts\n' : `acknowledged ${cleared.map((a) => `#${a.id}`).join(', ')}\n`);
          return 0;
        } catch (err) {
          if (err instanceof UnknownAlertError) {
            env.err.write(`alert ack: ${err.message}\n`);
            return 2;
          }
          throw err;
        }
      },
    },
  ],
};

export const checkCommand: Command = {
  name: 'check',
  summary: 'run a diagnostic (check with no name lists those available)',
  usage: 'check [NAME ARGS...]',
  async run(args, env) {
    const checks = env.hooks.checks ?? {};
    const [name, ...rest] = args;
    if (name === undefined) {
      const names = Object.keys(checks).sort();
      if (names.length === 0) return notAvailable(env, 'check');
      for (const n of names) env.out.write(`${checks[n]!.usage.padEnd(32)} ${checks[n]!.summary}\n`);
      return 0;
    }
    const check = Object.hasOwn(checks, name) ? checks[name] : undefined;
    if (!check) return notAvailable(env, `check ${name}`);
    return check.run(rest, env.out);
  },
};

export const restartCommand: Command = {
  name: 'restart',
  summary: 'restart the mail services (staged settings are not committed)',
  usage: 'restart',
  surfaces: ['console'],
  async run(args, env) {
    positionals(args, 0, 'restart');
    if (!env.hooks.restart) return notAvailable(env, 'restart');
    env.out.write('restarting...\n');
    await env.hooks.restart();
    env.out.write('restarted\n');
    return 0;
  },
};

/** `shutdown` and `reboot`: the firmware's shutdown hook says what happens, then does it. */
const stopCommand = (name: string, how: 'poweroff' | 'reboot', summary: string): Command => ({
  name,
  summary,
  usage: name,
  surfaces: ['console'],
  async run(args, env) {
    positionals(args, 0, name);
    if (!env.hooks.shutdown) return notAvailable(env, name);
    env.out.write(`${await env.hooks.shutdown(how)}\n`);
    return 0;
  },
});

export const shutdownCommand = stopCommand('shutdown', 'poweroff',
  'stop Yubin: listeners close, sessions are told, mail in DATA gets smtp.shutdownGrace; on the board the board then powers off');
export const rebootCommand = stopCommand('reboot', 'reboot',
  "on the board: stop Yubin as shutdown does, then reboot the board ('restart' restarts Yubin alone)");

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
