// OP25B and the ban set in network namespaces made here: lan host ─ router ─ wan host.
// Yubin's firewall service runs nft inside the router namespace; socat plays clients and servers.
import t, { type Test } from 'tap';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigStore } from '../../src/config/store.ts';
import type { EventMap } from '../../src/events/bus.ts';
import { type Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { createFirewallService } from '../../board/firewall/service.ts';
import { createContext } from '../../firmware/context.ts';

const run = promisify(execFile);
const id = randomBytes(3).toString('hex');
const NS = { lan: `yb-lan-${id}`, router: `yb-router-${id}`, wan: `yb-wan-${id}` };
const LAN_HOST = '10.251.1.2';
const LAN_EXEMPT = '10.251.1.3';
const ROUTER_LAN = '10.251.1.1';
const WAN_HOST = '10.251.2.2';

async function sh(...args: string[]): Promise<string> {
  const { stdout } = await run(args[0]!, args.slice(1), { timeout: 10_000 });
  return stdout;
}
const inNs = (ns: string, ...args: string[]) => sh('ip', 'netns', 'exec', ns, ...args);

/** Try a TCP connection from inside `ns`; returns 'open', 'refused' or 'timeout'. */
async function connect(ns: string, host: string, port: number, bind?: string): Promise<string> {
  const target = `TCP:${host}:${port},connect-timeout=2${bind ? `,bind=${bind}` : ''}`;
  try {
    await run('ip', ['netns', 'exec', ns, 'socat', '-u', 'OPEN:/dev/null', target], { timeout: 8_000 });
    return 'open';
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? err);
    if (/refused/i.test(text)) return 'refused';
    if (/timed out|timeout/i.test(text)) return 'timeout';
    return `error: ${text.trim()}`;
  }
}

const listeners: ChildProcess[] = [];
async function listen(ns: string, address: string, port: number): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, 'socat', '-u', `TCP-LISTEN:${port},bind=${address},fork,reuseaddr`, 'OPEN:/dev/null'], {
    stdio: 'ignore',
  });
  listeners.push(child);
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if ((await inNs(ns, 'ss', '-Hltn', `sport = :${port}`)).includes(`${address}:${port}`)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`listener ${ns} ${address}:${port} did not start`);
}

async function cleanup(): Promise<void> {
  for (const c of listeners) c.kill();
  for (const ns of Object.values(NS)) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
}
t.teardown(cleanup);
// Also after a crash in the middle: namespaces outlive the process otherwise.
process.once('exit', () => {
  for (const c of listeners) c.kill();
});

async function makeNetwork(): Promise<void> {
  for (const ns of Object.values(NS)) await sh('ip', 'netns', 'add', ns);
  await sh('ip', '-n', NS.router, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.lan);
  await sh('ip', '-n', NS.router, 'link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS.wan);
  await sh('ip', '-n', NS.router, 'addr', 'add', `${ROUTER_LAN}/24`, 'dev', 'lan0');
  await sh('ip', '-n', NS.router, 'addr', 'add', '10.251.2.1/24', 'dev', 'wan0');
  await sh('ip', '-n', NS.lan, 'addr', 'add', `${LAN_HOST}/24`, 'dev', 'eth0');
  await sh('ip', '-n', NS.lan, 'addr', 'add', `${LAN_EXEMPT}/24`, 'dev', 'eth0');
  await sh('ip', '-n', NS.wan, 'addr', 'add', `${WAN_HOST}/24`, 'dev', 'eth0');
  for (const ns of Object.values(NS)) {
    await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    await sh('ip', '-n', ns, 'link', 'set', ns === NS.router ? 'lan0' : 'eth0', 'up');
  }
  await sh('ip', '-n', NS.router, 'link', 'set', 'wan0', 'up');
  await sh('ip', '-n', NS.lan, 'route', 'add', 'default', 'via', ROUTER_LAN);
  await sh('ip', '-n', NS.wan, 'route', 'add', 'default', 'via', '10.251.2.1');
  await inNs(NS.router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  await listen(NS.wan, WAN_HOST, 25);
  await listen(NS.wan, WAN_HOST, 587);
  await listen(NS.router, ROUTER_LAN, 25);
  await listen(NS.router, ROUTER_LAN, 587);
}

async function makeContext(t: Test): Promise<Context> {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-fw-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await ConfigStore.open(dir);
  t.teardown(() => store.close());
  return createContext(dir, store, stderrLogger('warn'));
}

t.test('OP25B in a router namespace', async (t) => {
  await makeNetwork();
  t.equal(await connect(NS.lan, WAN_HOST, 25), 'open', 'before Yubin applies its rules, lan → wan:25 is open');

  const ctx = await makeContext(t);
  for (const [k, v] of [['op25b.enabled', 'true'], ['op25b.lanInterface', 'lan0'], ['op25b.wanInterface', 'wan0'], ['op25b.exemptHosts', `${LAN_EXEMPT}/32`]]) {
    ctx.store.stage(k!, v!);
  }
  await ctx.store.commit();
  const fw = createFirewallService(ctx, { nft: ['ip', 'netns', 'exec', NS.router, 'nft'] });
  const events: EventMap['op25b.blocked'][] = [];
  ctx.bus.on('op25b.blocked', (e) => events.push(e));
  await fw.start();
  t.teardown(() => fw.stop().catch(() => undefined));

  t.equal(await connect(NS.lan, WAN_HOST, 25), 'refused', 'lan → wan:25 is refused with a TCP reset');
  t.equal(await connect(NS.lan, WAN_HOST, 587), 'open', 'lan → wan:587 (submission) stays open');
  t.equal(await connect(NS.router, WAN_HOST, 25), 'open', "router → wan:25 (the board's own MTA) stays open");
  t.equal(await connect(NS.lan, ROUTER_LAN, 25), 'open', 'lan → router:25 stays open');
  t.equal(await connect(NS.lan, ROUTER_LAN, 587), 'open', 'lan → router:587 stays open');
  t.equal(await connect(NS.lan, WAN_HOST, 25, LAN_EXEMPT), 'open', 'an exempt LAN host still reaches wan:25');

  await fw.poll();
  t.same(events, [{ source: LAN_HOST, count: 1 }], 'one op25b.blocked event names the LAN source');
  t.equal(await connect(NS.lan, WAN_HOST, 25), 'refused');
  t.equal(await connect(NS.lan, WAN_HOST, 25), 'refused');
  await fw.poll();
  t.same(events.at(-1), { source: LAN_HOST, count: 2 }, 'the next poll reports only the new attempts');

  const status = await fw.status();
  t.match(status, /blocked LAN → WAN TCP\/25 packets: 3/, 'status shows the named counter');
  t.match(status, new RegExp(`from ${LAN_HOST.replaceAll('.', '\\.')}: 3`), 'status shows the count per LAN source');
  t.match(status, /reject with tcp reset/, 'status prints the live rules');

  await fw.stop();
  t.notMatch(await inNs(NS.router, 'nft', 'list', 'tables'), /yubin/, 'stop removes the table');
  t.equal(await connect(NS.lan, WAN_HOST, 25), 'open', 'and lan → wan:25 is open again');
});

t.test('ban set drops a banned address on the mail ports until its timeout', async (t) => {
  const ctx = await makeContext(t);
  await ctx.store.set('alerts.autoBan', 'true');
  const fw = createFirewallService(ctx, { nft: ['ip', 'netns', 'exec', NS.router, 'nft'] });
  await fw.start();
  t.teardown(() => fw.stop().catch(() => undefined));

  const bannedAt = Date.now();
  // Long enough to outlast the checks below on a loaded machine, short enough to wait out.
  await fw.ban(LAN_HOST, 10);
  t.match(await fw.status(), new RegExp(`banned addresses: 1\\n  ${LAN_HOST.replaceAll('.', '\\.')} \\(\\d+ s left\\)`), 'status lists the ban');
  t.equal(await connect(NS.lan, ROUTER_LAN, 25, LAN_HOST), 'timeout', 'the banned address is dropped on :25');
  t.equal(await connect(NS.lan, ROUTER_LAN, 587, LAN_EXEMPT), 'open', 'another address is not');

  // A reload (settings changed) keeps the bans.
  await fw.ban(LAN_EXEMPT, 60);
  await ctx.store.set('alerts.autoBanPorts', '25,587,110');
  ctx.bus.emit('config.changed', { keys: ['alerts.autoBanPorts'] });
  t.match(await fw.status(), /banned addresses: 2/, 'bans survive a re-apply of the table');

  await new Promise((r) => setTimeout(r, Math.max(0, bannedAt + 10500 - Date.now())));
  t.equal(await connect(NS.lan, ROUTER_LAN, 25, LAN_HOST), 'open', 'the ban times out by itself');

  // Auto-ban: a raised relay-attack alert bans its source; a trusted address is never banned.
  await ctx.store.set('trustedNetworks', '127.0.0.1/32, 10.251.1.7/32');
  const alert = { id: '1', kind: 'relay-attack', severity: 'critical', count: 3, text: 'relay attack', time: new Date().toISOString() } as const;
  ctx.bus.emit('alert.raised', { ...alert, source: LAN_HOST });
  ctx.bus.emit('alert.raised', { ...alert, id: '2', source: '10.251.1.7' });
  ctx.bus.emit('alert.raised', { ...alert, id: '3', kind: 'op25b', source: '10.251.1.9' });
  const deadline = Date.now() + 5000;
  let status = '';
  while (Date.now() < deadline && !(status = await fw.status()).includes(`  ${LAN_HOST} (`)) await new Promise((r) => setTimeout(r, 50));
  t.match(status, new RegExp(`  ${LAN_HOST.replaceAll('.', '\\.')} \\(\\d+ s left\\)`), 'the alert source is banned for alerts.autoBanSeconds');
  t.notMatch(status, /10\.251\.1\.7/, 'a trusted address is never banned');
  t.notMatch(status, /10\.251\.1\.9/, 'an OP25B alert (our own LAN host) bans nobody');
  t.equal(await connect(NS.lan, ROUTER_LAN, 587, LAN_HOST), 'timeout', 'the auto-banned address is dropped on :587');

  await t.rejects(fw.ban('not-an-ip', 10), /"not-an-ip" is not an IP address/);
});
