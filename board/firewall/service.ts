// The firewall service: applies Yubin's nftables table (OP25B + ban set), re-applies it when its
// settings change, turns per-source counter increases into op25b.blocked events, bans on alerts,
// and removes the table on stop.
import { isIP } from 'node:net';
import type { Context, Service } from '../../src/context.ts';
import { normalizeIp, networkSet } from '../../src/net/ip.ts';
import { buildRuleset, BAN_SETS, SOURCE_SETS, BLOCKED_COUNTER, FAMILY, TABLE, type Ban, type RulesetInput } from './ruleset.ts';
import { Nft, setElements, counterPackets, type SetElement } from './nft.ts';

export interface FirewallService extends Service {
  /** The live table as nft prints it, under a summary of the counts. */
  status(): Promise<string>;
  /** Drop `ip` on the mail ports for `seconds` (re-banning restarts the timeout). */
  ban(ip: string, seconds: number): Promise<void>;
  /** Read the counters now (the timer does this every op25b.pollSeconds). */
  poll(): Promise<void>;
}

export interface FirewallOptions {
  /** How to run nft; tests run it inside a network namespace with ['ip','netns','exec',NS,'nft']. */
  nft?: readonly string[];
}

/** Alerts whose source is a remote attacker worth banning (an OP25B source is our own LAN host). */
const BANNABLE_KINDS = new Set(['relay-attack', 'auth-attack', 'virus']);

/** Settings that change the generated table. */
const RULE_KEYS = /^(op25b\.(enabled|lanInterface|wanInterface|exemptHosts)|alerts\.autoBan(Ports)?|smtp\.(port|submissionPort|smtpsPort)|pop3\.(port|tlsPort))$/;

/**
 * Per-source packet counts since the last poll. An element that timed out and came back starts
 * again from zero, so a count lower than the last one is all new.
 */
export class BlockedTally {
  #last = new Map<string, number>();

  diff(elements: readonly SetElement[]): { source: string; count: number }[] {
    const next = new Map<string, number>();
    const out: { source: string; count: number }[] = [];
    for (const e of elements) {
      next.set(e.address, e.packets);
      const before = this.#last.get(e.address) ?? 0;
      const count = e.packets >= before ? e.packets - before : e.packets;
      if (count > 0) out.push({ source: e.address, count });
    }
    // Only live elements are kept, so this map is bounded by the set size (4096 per family).
    this.#last = next;
    return out;
  }

  reset(): void {
    this.#last.clear();
  }
}

export function createFirewallService(ctx: Context, options: FirewallOptions = {}): FirewallService {
  const nft = new Nft(options.nft);
  const tally = new BlockedTally();
  let active = false;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void)[] = [];
  // Applies, polls and bans run one at a time, so a poll never reads a half-replaced table.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(job: () => Promise<T>): Promise<T> => {
    const run = chain.then(job);
    chain = run.catch(() => undefined);
    return run;
  };

  function wanted(): RulesetInput | null {
    const s = ctx.store.settings;
    if (!s['op25b.enabled'] && !s['alerts.autoBan']) return null;
    if (s['op25b.enabled'] && s['op25b.lanInterface'] === '') {
      throw new Error('op25b.lanInterface: must name the LAN interface when op25b.enabled is true');
    }
    const listeners = [s['smtp.port'], s['smtp.submissionPort'], s['smtp.smtpsPort'], s['pop3.port'], s['pop3.tlsPort']].filter((p) => p !== 0);
    const input: RulesetInput = { banPorts: [...s['alerts.autoBanPorts'], ...listeners] };
    if (s['op25b.enabled']) {
      input.op25b = { lanInterface: s['op25b.lanInterface'], wanInterface: s['op25b.wanInterface'], exemptHosts: s['op25b.exemptHosts'] };
    }
    return input;
  }

  async function liveBans(): Promise<Ban[]> {
    if (!active) return [];
    const list = await nft.json(['list', 'table', FAMILY, TABLE]);
    return [...setElements(list, BAN_SETS.v4), ...setElements(list, BAN_SETS.v6)].map((e) => ({ address: e.address, seconds: e.expires ?? 0 }));
  }

  async function apply(): Promise<void> {
    const input = wanted();
    if (input === null) {
      await remove();
      return;
    }
    // Carry bans over a reload: the replaced table would otherwise forget them.
    input.bans = await liveBans().catch(() => []);
    await nft.apply(buildRuleset(input));
    active = true;
    tally.reset();
    schedulePoll();
    ctx.log.log('info', 'firewall applied', { op25b: input.op25b !== undefined, banPorts: input.banPorts });
  }

  async function remove(): Promise<void> {
    if (!active) return;
    active = false;
    clearInterval(timer);
    timer = undefined;
    await nft.run(['delete', 'table', FAMILY, TABLE]);
    ctx.log.log('info', 'firewall removed');
  }

  function schedulePoll(): void {
    clearInterval(timer);
    timer = undefined;
    if (!ctx.store.get('op25b.enabled')) return;
    timer = setInterval(() => {
      service.poll().catch((err: Error) => ctx.log.log('warn', 'firewall poll failed', { error: err.message }));
    }, ctx.store.get('op25b.pollSeconds') * 1000);
    timer.unref();
  }

  async function autoBan(alert: { kind: string; source: string }): Promise<void> {
    if (!ctx.store.get('alerts.autoBan') || !BANNABLE_KINDS.has(alert.kind)) return;
    const ip = normalizeIp(alert.source);
    if (isIP(ip) === 0) return;
    // Never lock out the office or the board itself, whatever an alert says.
    const trusted = networkSet(ctx.store.get('trustedNetworks'));
    if (trusted(ip) || ip === '::1' || ip.startsWith('127.')) {
      ctx.log.log('info', 'auto-ban skipped for a trusted address', { ip, kind: alert.kind });
      return;
    }
    await service.ban(ip, ctx.store.get('alerts.autoBanSeconds'));
    ctx.log.log('warn', 'address banned', { ip, kind: alert.kind, seconds: ctx.store.get('alerts.autoBanSeconds') });
  }

  const service: FirewallService = {
    name: 'firewall',

    async start() {
      await serial(apply);
      unsubscribe = [
        // A re-apply that fails rejects the listener's promise: the bus reports it and the supervisor
        // marks the firewall down (alert, `show status`) and retries it (firmware/extensions.ts).
        ctx.bus.on('config.changed', ({ keys }) => {
          if (!keys.some((k) => RULE_KEYS.test(k) || k === 'op25b.pollSeconds')) return undefined;
          return serial(apply);
        }),
        ctx.bus.on('alert.raised', (alert) => {
          autoBan(alert).catch((err: Error) => ctx.log.log('error', 'auto-ban failed', { ip: alert.source, error: err.message }));
        }),
      ];
    },

    async stop() {
      for (const off of unsubscribe) off();
      unsubscribe = [];
      await serial(remove);
    },

    poll() {
      return serial(async () => {
        if (!active || !ctx.store.get('op25b.enabled')) return;
        const list = await nft.json(['list', 'table', FAMILY, TABLE]);
        const elements = [...setElements(list, SOURCE_SETS.v4), ...setElements(list, SOURCE_SETS.v6)];
        for (const hit of tally.diff(elements)) ctx.bus.emit('op25b.blocked', hit);
      });
    },

    ban(ip, seconds) {
      const address = normalizeIp(ip);
      const family = isIP(address);
      if (family === 0) return Promise.reject(new Error(`${JSON.stringify(ip)} is not an IP address`));
      if (!Number.isInteger(seconds) || seconds < 1) return Promise.reject(new Error(`ban time must be a whole number of seconds, not ${seconds}`));
      return serial(async () => {
        if (!active) throw new Error('the ban set is not active: set alerts.autoBan or op25b.enabled to true');
        const set = family === 4 ? BAN_SETS.v4 : BAN_SETS.v6;
        const el = `${FAMILY} ${TABLE} ${set} { ${address} timeout ${seconds}s }`;
        // add + delete + add in one transaction: a ban already there gets the new timeout.
        await nft.apply(`add element ${el}\ndelete element ${FAMILY} ${TABLE} ${set} { ${address} }\nadd element ${el}\n`);
      });
    },

    status() {
      return serial(async () => {
        const s = ctx.store.settings;
        const head = [
          `OP25B: ${s['op25b.enabled'] ? `on (LAN ${s['op25b.lanInterface']} → WAN ${s['op25b.wanInterface'] || 'any other interface'})` : 'off'}`,
          `auto-ban: ${s['alerts.autoBan'] ? `on (${s['alerts.autoBanSeconds']} s)` : 'off'}`,
        ];
        if (!active) return [...head, `nftables table ${FAMILY} ${TABLE}: not applied`].join('\n') + '\n';
        const list = await nft.json(['list', 'table', FAMILY, TABLE]);
        const blocked = counterPackets(list, BLOCKED_COUNTER);
        if (blocked !== undefined) head.push(`blocked LAN → WAN TCP/25 packets: ${blocked}`);
        for (const e of [...setElements(list, SOURCE_SETS.v4), ...setElements(list, SOURCE_SETS.v6)]) {
          head.push(`  from ${e.address}: ${e.packets}`);
        }
        const bans = [...setElements(list, BAN_SETS.v4), ...setElements(list, BAN_SETS.v6)];
        head.push(`banned addresses: ${bans.length}`);
        for (const b of bans) head.push(`  ${b.address}${b.expires !== undefined ? ` (${b.expires} s left)` : ''}`);
        const rules = await nft.run(['list', 'table', FAMILY, TABLE]);
        return `${head.join('\n')}\n\n${rules}`;
      });
    },
  };
  return service;
}
