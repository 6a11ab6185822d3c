import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRuleset } from '../../board/firewall/ruleset.ts';
import { BlockedTally, createFirewallService } from '../../board/firewall/service.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { createContext } from '../../firmware/context.ts';

t.test('generated table replaces an older copy in one transaction', async (t) => {
  const text = buildRuleset({ banPorts: [25, 587, 25, 0] });
  t.match(text, /^table inet yubin\ndelete table inet yubin\ntable inet yubin \{/);
  t.match(text, /tcp dport \{ 25, 587 \} ip saddr @banned4 drop/, 'ban ports deduplicated, 0 (disabled listener) left out');
  t.notMatch(text, /hook forward/, 'no OP25B chain unless asked');
});

t.test('OP25B without a WAN interface blocks every interface but the LAN one', async (t) => {
  const text = buildRuleset({ banPorts: [], op25b: { lanInterface: 'br-lan', wanInterface: '', exemptHosts: ['192.168.1.10', '2001:db8::/64'] } });
  t.match(text, /iifname "br-lan" oifname != "br-lan" tcp dport 25 jump op25b/);
  t.match(text, /set op25b_exempt4 \{ type ipv4_addr; flags interval; elements = \{ 192\.168\.1\.10 \}; \}/);
  t.match(text, /set op25b_exempt6 \{ type ipv6_addr; flags interval; elements = \{ 2001:db8::\/64 \}; \}/);
  t.match(text, /limit rate 6\/minute burst 5 packets log prefix "yubin op25b: "/, 'logs at a limited rate');
  t.match(text, /counter name op25b_blocked reject with tcp reset/);
  t.throws(() => buildRuleset({ banPorts: [], op25b: { lanInterface: 'a" drop', wanInterface: '', exemptHosts: [] } }), /bad interface name/);
});

t.test('blocked tally reports increases per source, and a re-created element from zero', async (t) => {
  const tally = new BlockedTally();
  t.same(tally.diff([{ address: '10.0.0.2', packets: 2 }]), [{ source: '10.0.0.2', count: 2 }]);
  t.same(tally.diff([{ address: '10.0.0.2', packets: 2 }, { address: '10.0.0.3', packets: 1 }]), [{ source: '10.0.0.3', count: 1 }]);
  t.same(tally.diff([{ address: '10.0.0.2', packets: 1 }]), [{ source: '10.0.0.2', count: 1 }], 'timed-out element came back');
});

t.test('start refuses OP25B without a LAN interface, naming the key', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-fw-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await ConfigStore.open(dir);
  await store.set('op25b.enabled', 'true');
  const ctx = createContext(dir, store, stderrLogger('warn'));
  const fw = createFirewallService(ctx, { nft: ['/nonexistent/nft'] });
  await t.rejects(fw.start(), /^op25b\.lanInterface: must name the LAN interface/);
  await t.rejects(fw.ban('192.0.2.1', 60), /ban set is not active/);
  t.match(await fw.status(), /not applied/);
});

t.test('a missing nft binary is reported as such', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-fw-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await ConfigStore.open(dir);
  await store.set('alerts.autoBan', 'true');
  const ctx = createContext(dir, store, stderrLogger('error'));
  const fw = createFirewallService(ctx, { nft: ['/nonexistent/nft'] });
  await t.rejects(fw.start(), /\/nonexistent\/nft not found: install nftables/);
});
