// The setup wizard: first boot on the serial console, and `yubin setup` anywhere, again whenever
// wanted. Admin password first (there is never a default one), then host name, mail domains, the
// first users, the network (systemd-networkd), whether the ISP blocks port 25 (then a smarthost,
// tried on the spot), the time zone. Every answer is checked with the schema `config set` uses and
// asked again when refused. Nothing is written until the last question: Ctrl-C or a closed line at
// any point leaves config.json and the network file as they were; the answers are then committed
// in one durable write of config.json, and the network file after it.
import { isIP } from 'node:net';
import { parseSetting } from '../../src/config/store.ts';
import { type Settings, type SettingKey } from '../../src/config/schema.ts';
import { hashPassword } from '../../src/accounts/passwords.ts';
import { checkUserName, passwordRules } from '../../src/accounts/users.ts';
import { resolverFromSettings } from '../../src/dns/resolver.ts';
import { probeSmarthost } from '../../src/outbound/probe.ts';
import { publicDomains } from '../../src/dnsrecords/records.ts';
import { writeNetwork, type NetworkPlan } from '../../board/system/network.ts';
import { adminPasswordRules, hasAdminPassword, MIN_ADMIN_PASSWORD } from '../console/admin.ts';
import { askNewSecret, Cancelled } from '../commands/secrets.ts';
import { formatValue } from '../commands/config.ts';
import type { CommandEnv } from '../commands/types.ts';

const STEPS = 7;

export interface SetupResult {
  /** The settings committed (keys), the users added, the network file written. */
  settings: string[];
  users: string[];
  networkFile?: string;
}

/** One answer: Enter keeps `current`; null (Ctrl-C, line gone) cancels the whole setup. */
async function ask(env: CommandEnv, question: string, current?: string, secret = false): Promise<string> {
  const shown = current !== undefined && current !== '' && !secret ? ` [${current}]` : '';
  const answer = await env.prompt(`${question}${shown}: `, { secret, interruptible: true });
  if (answer === null) throw new Cancelled('cancelled');
  return answer.trim() === '' ? (current ?? '') : answer.trim();
}

/** Ask until the schema accepts the answer for `key`; returns the parsed value. */
async function askSetting<K extends SettingKey>(env: CommandEnv, key: K, question: string, current: string): Promise<Settings[K]> {
  for (;;) {
    const text = await ask(env, question, current);
    try {
      return parseSetting(key, text) as Settings[K];
    } catch (err) {
      env.out.write(`  ${(err as Error).message}\n`);
    }
  }
}

async function askChoice(env: CommandEnv, question: string, choices: readonly string[], current: string): Promise<string> {
  for (;;) {
    const answer = (await ask(env, `${question} (${choices.join('/')})`, current)).toLowerCase();
    const hit = choices.find((c) => c === answer || (answer.length > 0 && c.startsWith(answer)));
    if (hit) return hit;
    env.out.write(`  answer one of ${choices.join(', ')}\n`);
  }
}

async function askValid(env: CommandEnv, question: string, current: string, valid: (v: string) => string | null): Promise<string> {
  for (;;) {
    const v = await ask(env, question, current);
    const wrong = valid(v);
    if (wrong === null) return v;
    env.out.write(`  ${wrong}\n`);
  }
}

const step = (env: CommandEnv, n: number, title: string) => env.out.write(`\n[${n}/${STEPS}] ${title}\n`);

/** The parent of a host name, as the likely mail domain: mx.example.jp → example.jp. */
function likelyDomain(hostname: string): string {
  const labels = hostname.split('.');
  return labels.length > 2 ? labels.slice(1).join('.') : hostname;
}

export async function runSetup(env: CommandEnv): Promise<SetupResult> {
  const { ctx } = env;
  const store = ctx.store;
  const change: Partial<Record<SettingKey, unknown>> = {};
  const get = <K extends SettingKey>(key: K): Settings[K] => (Object.hasOwn(change, key) ? change[key] : store.get(key)) as Settings[K];
  env.out.write(`Yubin setup. Enter keeps the value in [brackets]; Ctrl-C stops without changing anything.\n`);

  step(env, 1, 'Admin password (the console and this setup)');
  let keepAdmin = false;
  if (hasAdminPassword(ctx)) keepAdmin = (await askChoice(env, 'Keep the current admin password?', ['yes', 'no'], 'yes')) === 'yes';
  if (!keepAdmin) {
    env.out.write(`Choose it now: at least ${MIN_ADMIN_PASSWORD} characters.\n`);
    for (;;) {
      try {
        const password = await askNewSecret({ prompt: (q, o) => env.prompt(q, { ...o, interruptible: true }) }, 'admin password', { check: adminPasswordRules });
        change['console.passwordHash'] = await hashPassword(password);
        break;
      } catch (err) {
        if (err instanceof Cancelled) throw err;
        env.out.write(`  ${(err as Error).message}\n`);
      }
    }
  }
  // Restoring a backup replaces everything else asked here (the lifecycle commands bring it).
  if (env.hooks.restoreBackup && (await askChoice(env, 'Set up anew, or restore a backup?', ['new', 'restore'], 'new')) === 'restore') {
    await env.hooks.restoreBackup(env);
    return { settings: [], users: [] };
  }

  step(env, 2, 'Host name of this mail server: the name the MX record points at');
  change.hostname = await askSetting(env, 'hostname', 'Host name, e.g. mx.example.com', get('hostname'));

  step(env, 3, 'Mail domains: mail to these is delivered here (comma-separated)');
  // Suggested: the domains set, or else the host name's parent (mx.example.jp: example.jp).
  const suggested = publicDomains(get('domains')).length > 0 ? get('domains') : publicDomains([likelyDomain(get('hostname'))]);
  change.domains = await askSetting(env, 'domains', 'Domains', (suggested.length > 0 ? suggested : get('domains')).join(', '));

  step(env, 4, 'First users: each gets a mailbox, name@every domain');
  const users: Array<{ name: string; hash: string }> = [];
  for (;;) {
    const raw = await ask(env, 'User name (Enter when done)');
    if (raw === '') break;
    let name: string;
    try {
      name = checkUserName(raw);
    } catch (err) {
      env.out.write(`  ${(err as Error).message}\n`);
      continue;
    }
    if (ctx.users.get(name) || users.some((u) => u.name === name)) {
      env.out.write(`  ${name} exists already; kept as it is\n`);
      continue;
    }
    try {
      const password = await askNewSecret({ prompt: (q, o) => env.prompt(q, { ...o, interruptible: true }) }, `password for ${name}`, { check: passwordRules });
      users.push({ name, hash: await hashPassword(password) });
    } catch (err) {
      if (err instanceof Cancelled) throw err;
      env.out.write(`  ${(err as Error).message}\n`);
    }
  }

  step(env, 5, 'Network of the wired port (systemd-networkd)');
  let network: NetworkPlan | undefined;
  const networkDir = get('system.networkDir');
  if (networkDir === '') {
    env.out.write('  not a board (system.networkDir is empty): the network is left as it is\n');
  } else {
    const how = await askChoice(env, 'Address by DHCP or static?', ['dhcp', 'static'], 'dhcp');
    if (how === 'dhcp') network = { kind: 'dhcp' };
    else {
      const address = await askValid(env, '  Address with prefix length, e.g. 192.168.1.25/24', '', (v) =>
        /^[^/]+\/\d{1,3}$/.test(v) && parseCidr(v) ? null : 'an address with its prefix length, such as 192.168.1.25/24');
      const gateway = await askValid(env, '  Gateway', guessGateway(address), (v) => (isIP(v) ? null : 'an IP address such as 192.168.1.1'));
      const dns = await askValid(env, '  DNS servers (comma-separated)', gateway, (v) =>
        v.split(/[\s,]+/).filter(Boolean).every((a) => isIP(a)) ? null : 'IP addresses such as 192.168.1.1, 8.8.8.8');
      network = { kind: 'static', address, gateway, dns: dns.split(/[\s,]+/).filter(Boolean) };
    }
  }

  step(env, 6, 'Outgoing mail: does your ISP block port 25 (OP25B)? Then mail leaves through its submission server');
  const blocked = await askChoice(env, 'Is outgoing port 25 blocked?', ['no', 'yes'], get('relay.smarthost') ? 'yes' : 'no');
  if (blocked === 'no') {
    change['relay.smarthost'] = '';
  } else {
    for (;;) {
      change['relay.smarthost'] = await askSetting(env, 'relay.smarthost', '  The ISP\'s submission server, host:port (587 or 465)', get('relay.smarthost'));
      const port = /:(\d+)$/.exec(String(change['relay.smarthost']))?.[1];
      change['relay.smarthostTls'] = port === '465' ? 'implicit' : 'starttls';
      change['relay.smarthostUser'] = await askSetting(env, 'relay.smarthostUser', '  User name at the ISP', get('relay.smarthostUser'));
      const pass = await ask(env, '  Password at the ISP (Enter keeps the current one)', '', true);
      if (pass !== '') change['relay.smarthostPassword'] = parseSetting('relay.smarthostPassword', pass);
      env.out.write(`  trying ${String(change['relay.smarthost'])} ...\n`);
      const probe = await probeSmarthost(get, resolverFromSettings(store));
      env.out.write(`  ${probe.ok ? 'ok' : 'failed'}: ${probe.text}\n`);
      if (probe.ok) break;
      const next = await askChoice(env, '  Try again, keep these settings anyway, or send without a smarthost?', ['again', 'keep', 'without'], 'again');
      if (next === 'keep') break;
      if (next === 'without') {
        change['relay.smarthost'] = '';
        break;
      }
    }
  }

  step(env, 7, 'Time zone (e.g. Asia/Tokyo, Europe/Berlin, UTC)');
  change['system.timeZone'] = await askSetting(env, 'system.timeZone', 'Time zone', get('system.timeZone'));

  // What will be written: only what differs from now.
  const keys = (Object.keys(change) as SettingKey[]).filter((k) => JSON.stringify(change[k]) !== JSON.stringify(store.get(k)));
  env.out.write('\nThis will be written:\n');
  for (const k of keys) env.out.write(`  ${k} = ${k === 'relay.smarthostPassword' ? '(set)' : formatValue(k, change[k])}\n`);
  for (const u of users) env.out.write(`  user ${u.name}\n`);
  if (network) env.out.write(`  network: ${network.kind === 'dhcp' ? 'DHCP' : `${network.address} via ${network.gateway}, DNS ${network.dns.join(', ')}`} (${networkDir})\n`);
  if (keys.length === 0 && users.length === 0 && !network) env.out.write('  nothing: everything stays as it is\n');
  if ((await askChoice(env, 'Write it?', ['yes', 'no'], 'yes')) === 'no') throw new Cancelled('cancelled');

  // One durable write of config.json (settings and users together), then the network file.
  await store.update((db) => {
    for (const k of keys) db.settings[k] = change[k];
    for (const u of users) db.users[u.name] = { passwordHash: u.hash, addresses: [], apop: false };
  });
  const result: SetupResult = { settings: keys, users: users.map((u) => u.name) };
  if (keys.includes('console.passwordHash')) env.out.write('admin password set\n');
  if (network) result.networkFile = await writeNetwork(networkDir, network);
  env.out.write(`setup written${result.networkFile ? `; the network applies at the next boot (${result.networkFile})` : ''}.\n`);
  env.out.write(`Next: 'dns' prints the DNS records to publish for ${(change.domains as string[]).join(', ')}, checked.\n`);
  return result;
}

function parseCidr(v: string): boolean {
  const [addr, bits] = v.split('/');
  return isIP(addr ?? '') !== 0 && Number(bits) <= (isIP(addr ?? '') === 4 ? 32 : 128);
}

/** The first address of the network is the usual router: 192.168.1.25/24 → 192.168.1.1. */
function guessGateway(cidr: string): string {
  const [addr, bits] = cidr.split('/');
  if (isIP(addr ?? '') !== 4) return '';
  const n = addr!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  const first = ((n & mask) >>> 0) + 1;
  return [24, 16, 8, 0].map((s) => (first >>> s) & 255).join('.');
}
