// The DNS watch, an extension: the records of `yubin dns` checked on a schedule through the
// configured resolver. For each domain (the board's own records count for its host name) it
// emits dns.checked with the state; a record that breaks or a new block-list listing emits
// dns.broken (the dns-record alert: LED, MQTT, `show alerts`), and a domain whose records are all
// good again emits dns.fixed, which resolves that alert. A lookup that failed (unknown) neither
// raises nor resolves anything: a DNS outage is not a broken record.
import type { Context, Service } from '../context.ts';
import { resolverFromSettings } from '../dns/resolver.ts';
import { checkRecords, isBroken, type DnsReport } from './check.ts';
import { checkOptions, gatherFacts, type FeatureRecords } from './facts.ts';
import { shortId, wantedRecords } from './records.ts';

export interface DomainState {
  readonly domain: string;
  /** ok: nothing to fix; problem: something is missing, wrong or listed; unknown: lookups failed. */
  readonly state: 'ok' | 'problem' | 'unknown';
  /** One line per record to fix: "DKIM yubin-rsa: missing (…)". */
  readonly problems: readonly string[];
  /** The big providers' sender rules are met (the board's own group: not block-listed). */
  readonly ready: boolean;
}

/** Per domain (the board's own records under its host name), what the report says. */
export function domainStates(report: DnsReport): DomainState[] {
  const host = report.hostname;
  const names = [host, ...report.readiness.map((r) => r.domain)];
  return names.map((domain) => {
    const own = report.records.filter((v) => (v.record.domain || host) === domain);
    const problems = own.filter(isBroken).map((v) => `${shortId(v.record)}: ${v.status} (${v.reason})${v.fix ? `; ${v.fix}` : ''}`);
    const listings = domain === host ? report.listings : [];
    for (const l of listings.filter((x) => x.status === 'wrong')) problems.push(`${l.address} ${l.reason} on ${l.zone}`);
    const unknown = own.some((v) => v.status === 'unknown') || listings.some((l) => l.status === 'unknown');
    const readiness = report.readiness.find((r) => r.domain === domain);
    return {
      domain,
      state: problems.length > 0 ? 'problem' : unknown ? 'unknown' : 'ok',
      problems,
      ready: readiness ? readiness.ready : listings.every((l) => l.status !== 'wrong'),
    };
  });
}

export interface DnsWatch extends Service {
  readonly restartOn: readonly ['dnsrecords.watch', 'dnsrecords.watchInterval'];
  /** The last report, if a check has run. */
  last(): DnsReport | undefined;
  /** Check now (also what the schedule runs). */
  check(): Promise<DnsReport>;
}

/** Gather, look up, judge: one report (the wizard and the watch both run this). */
export async function runDnsCheck(ctx: Pick<Context, 'store' | 'dataDir'>, features: FeatureRecords = {}): Promise<DnsReport> {
  const facts = await gatherFacts(ctx, features);
  const dns = resolverFromSettings(ctx.store);
  return checkRecords(facts, wantedRecords(facts), dns, checkOptions(ctx, dns));
}

export function createDnsWatch(ctx: Context, features: FeatureRecords = {}): DnsWatch {
  let timer: NodeJS.Timeout | undefined;
  let last: DnsReport | undefined;
  let running: Promise<DnsReport> | undefined;
  /** Broken records (by name) per domain at the last check that could tell. */
  const broken = new Map<string, Set<string>>();

  function judge(report: DnsReport): void {
    const states = domainStates(report);
    ctx.bus.emit('dns.checked', { checkedAt: report.checkedAt, domains: states.map((s) => ({ ...s, problems: [...s.problems] })) });
    for (const s of states) {
      const before = broken.get(s.domain) ?? new Set<string>();
      if (s.state === 'unknown') continue;
      const idOf = (line: string) => line.slice(0, line.indexOf(':'));
      const now = new Set(s.problems.map(idOf));
      const fresh = s.problems.filter((p) => !before.has(idOf(p)));
      broken.set(s.domain, now);
      if (fresh.length > 0) {
        ctx.log.log('warn', 'DNS records broken', { domain: s.domain, problems: fresh });
        ctx.bus.emit('dns.broken', { domain: s.domain, problems: fresh });
      } else if (now.size === 0 && before.size > 0) {
        ctx.log.log('info', 'DNS records all good again', { domain: s.domain });
        ctx.bus.emit('dns.fixed', { domain: s.domain });
      }
    }
  }

  async function check(): Promise<DnsReport> {
    running ??= runDnsCheck(ctx, features).then((report) => {
      last = report;
      judge(report);
      return report;
    }).finally(() => { running = undefined; });
    return running;
  }

  function schedule(ms: number): void {
    timer = setTimeout(() => {
      check().catch((err: Error) => ctx.log.log('warn', 'DNS watch check failed', { error: err.message }))
        .finally(() => { if (timer) schedule(ctx.store.get('dnsrecords.watchInterval') * 1000); });
    }, ms);
    timer.unref();
  }

  return {
    name: 'dns-watch',
    restartOn: ['dnsrecords.watch', 'dnsrecords.watchInterval'],
    async start() {
      if (!ctx.store.get('dnsrecords.watch')) return;
      // The first check soon after start (not at once: the network may still be coming up).
      schedule(Math.min(60, ctx.store.get('dnsrecords.watchInterval')) * 1000);
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
    last: () => last,
    check,
  };
}
