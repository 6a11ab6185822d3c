// show status|config|queue|alerts|users|firewall: the console's view of the running board.
import { hostname as osHostname } from 'node:os';
import { positionals } from './options.ts';
import { showConfig } from './config.ts';
import { listUsers } from './accounts.ts';
import { notAvailable } from './not-available.ts';
import { showDns } from './dns.ts';
import { formatSummaries } from '../../src/dmarcreport/inbound.ts';
import type { Command, CommandEnv } from './types.ts';

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

const show = (name: string, summary: string, run: (env: CommandEnv) => Promise<number | void> | number | void, board = false): Command => ({
  name,
  summary,
  usage: `show ${name}`,
  ...(board ? { board } : {}),
  async run(args, env) {
    positionals(args, 0, `show ${name}`);
    return (await run(env)) ?? 0;
  },
});

export const showCommand: Command = {
  name: 'show',
  summary: 'look at the running board',
  subcommands: [
    show('status', 'host, role, uptime, memory and what the stations report', showStatus, true),
    show('config', 'every setting, with staged changes', (env) => showConfig(env, false)),
    show('queue', 'messages waiting for delivery', async (env) => {
      if (!env.hooks.queue) return notAvailable(env, 'show queue');
      const text = await env.hooks.queue();
      env.out.write(text === '' ? 'queue empty\n' : text.endsWith('\n') ? text : text + '\n');
      return 0;
    }, true),
    show('alerts', 'recent alerts and whether they were acknowledged', showAlerts, true),
    show('users', 'users and their addresses', listUsers),
    show('dns', 'the DNS records each domain needs, checked against DNS', (env) => showDns(env, false)),
    show('dmarc', 'DMARC aggregate reports received about the local domains: how much failed, from where', async (env) => {
      env.out.write(await formatSummaries(env.ctx.dataDir, env.ctx.store.get('domains')));
    }),
    show('firewall', 'the live nftables rules, OP25B counts and bans', async (env) => {
      if (!env.hooks.firewall) return notAvailable(env, 'show firewall');
      env.out.write(await env.hooks.firewall.status());
      return 0;
    }, true),
  ],
};
