// The alert engine: turns bus facts (relay.denied, auth.failed, ...) into alerts.
// An alert is raised when `threshold` events of one kind from one source fall within a window;
// it stays latched (the LED keeps blinking) until acknowledged; further events only raise its
// count. After a raise, the same kind and source stay quiet for alerts.cooldown seconds.
import type { Context, Service } from '../context.ts';
import type { EventBus, EventMap, EventName } from '../events/bus.ts';
import type { Settings } from '../config/schema.ts';
import type { Alert, AlertKind, ClearedAlert, ClearReason, Severity } from '../events/alerts.ts';

interface Limit {
  readonly threshold: number;
  readonly windowMs: number;
}

/** One row of the rule table: which event counts towards which alert, and how. */
interface Rule<K extends EventName> {
  readonly event: K;
  readonly kind: AlertKind;
  readonly severity: Severity;
  source(p: EventMap[K]): string;
  limit(s: Readonly<Settings>): Limit;
  /** Events that do not count at all (e.g. a queue still below its alert depth). */
  counts?(p: EventMap[K], s: Readonly<Settings>): boolean;
  /** How many events one payload stands for (a counter delta); default 1. */
  weight?(p: EventMap[K]): number;
  text(source: string, count: number, windowMs: number, p: EventMap[K]): string;
}

/** A hit after the rule's payload-specific parts have been read. */
interface Hit {
  readonly kind: AlertKind;
  readonly severity: Severity;
  readonly source: string;
  readonly weight: number;
  readonly limit: Limit;
  text(count: number): string;
}

interface BoundRule {
  attach(bus: EventBus, settings: () => Readonly<Settings>, hit: (h: Hit) => void): () => void;
}

function rule<K extends EventName>(r: Rule<K>): BoundRule {
  return {
    attach(bus, settings, hit) {
      return bus.on(r.event, (p) => {
        const s = settings();
        if (r.counts && !r.counts(p, s)) return;
        const source = r.source(p);
        const limit = r.limit(s);
        hit({
          kind: r.kind,
          severity: r.severity,
          source,
          weight: Math.max(1, r.weight ? r.weight(p) : 1),
          limit,
          text: (count) => r.text(source, count, limit.windowMs, p),
        });
      });
    },
  };
}

const minutes = (ms: number): string => (ms % 60000 === 0 ? `${ms / 60000} min` : `${Math.round(ms / 1000)} s`);
const perWindow = (threshold: number, windowSeconds: number): Limit => ({ threshold, windowMs: windowSeconds * 1000 });
const once: Limit = { threshold: 1, windowMs: 1000 };

/** The rule table. Adding an alert = adding a row (and its AlertKind). */
export const RULES: readonly BoundRule[] = [
  rule({
    event: 'relay.denied', kind: 'relay-attack', severity: 'critical',
    source: (p) => p.client,
    limit: (s) => perWindow(s['alerts.relayThreshold'], s['alerts.relayWindow']),
    text: (src, n, w, p) => `relay attack from ${src}: ${n} denied relay attempts in ${minutes(w)} (last to <${p.rcpt}>)`,
  }),
  rule({
    event: 'auth.failed', kind: 'auth-attack', severity: 'warning',
    source: (p) => p.client,
    limit: (s) => perWindow(s['alerts.authThreshold'], s['alerts.authWindow']),
    text: (src, n, w, p) => `password guessing from ${src}: ${n} failed logins in ${minutes(w)} (last ${p.service} user ${JSON.stringify(p.user)})`,
  }),
  rule({
    event: 'virus.found', kind: 'virus', severity: 'critical',
    source: (p) => p.client,
    limit: (s) => perWindow(s['alerts.virusThreshold'], s['alerts.virusWindow']),
    text: (src, n, _w, p) => `virus ${p.signature} in mail from ${src} (sender <${p.from}>, ${n} found)`,
  }),
  rule({
    event: 'op25b.blocked', kind: 'op25b', severity: 'warning',
    source: (p) => p.source,
    weight: (p) => p.count,
    limit: (s) => perWindow(s['alerts.op25bThreshold'], s['alerts.op25bWindow']),
    text: (src, n) => `OP25B: LAN host ${src} tried to send mail straight to the Internet (TCP/25), ${n} blocked — a bot or a misconfigured client`,
  }),
  rule({
    event: 'queue.backlog', kind: 'queue-backlog', severity: 'warning',
    source: () => 'queue',
    counts: (p, s) => p.depth >= s['alerts.queueBacklog'],
    limit: () => once,
    text: (_src, _n, _w, p) => `mail queue backlog: ${p.depth} messages waiting`,
  }),
  rule({
    event: 'delivery.failed', kind: 'delivery-failures', severity: 'warning',
    source: () => 'delivery',
    limit: (s) => perWindow(s['alerts.deliveryFailureThreshold'], s['alerts.deliveryFailureWindow']),
    text: (_src, n, w, p) => `${n} failed deliveries in ${minutes(w)} (last <${p.rcpt}>: ${p.code} ${p.text})`,
  }),
  rule({
    event: 'disk.low', kind: 'disk-low', severity: 'critical',
    source: (p) => p.path,
    limit: () => once,
    text: (src, _n, _w, p) => `disk low on ${src}: ${Math.floor(p.freeBytes / 1024 / 1024)} MiB free`,
  }),
  rule({
    event: 'service.down', kind: 'service-down', severity: 'critical',
    source: (p) => p.service,
    limit: () => once,
    text: (src, _n, _w, p) => `service ${src} is down: ${p.reason}`,
  }),
  rule({
    event: 'session.failed', kind: 'internal-error', severity: 'critical',
    source: (p) => p.service,
    limit: () => once,
    text: (src, n, _w, p) => `internal error in a ${src} session (${p.session} from ${p.client}), session closed, others unaffected: ${p.error}${n > 1 ? ` (${n} so far)` : ''}`,
  }),
  rule({
    event: 'config.rejected', kind: 'config-invalid', severity: 'critical',
    source: (p) => p.file,
    limit: () => once,
    text: (src, _n, _w, p) => `config file ${src} changed but cannot be used (the running settings stay): ${p.error.replaceAll(`${src}: `, '').replace(/\s*\n\s*/g, ' ')}`,
  }),
  rule({
    event: 'lifecycle.problem', kind: 'lifecycle', severity: 'critical',
    source: (p) => p.source,
    limit: () => once,
    text: (_src, _n, _w, p) => p.text,
  }),
  rule({
    event: 'dns.broken', kind: 'dns-record', severity: 'warning',
    source: (p) => p.domain,
    limit: () => once,
    text: (src, _n, _w, p) => `DNS of ${src} needs fixing ('show dns' says how): ${p.problems.join('; ')}`,
  }),
  rule({
    event: 'certificate.failed', kind: 'certificate', severity: 'warning',
    source: () => 'acme',
    limit: () => once,
    text: (_src, n, _w, p) => `certificate for ${p.names.join(', ')} could not be obtained (${n} ${n === 1 ? 'try' : 'tries'}; next at ${new Date(p.retryAt).toISOString()}): ${p.reason}`,
  }),
  rule({
    event: 'certificate.expiring', kind: 'certificate-expiry', severity: 'critical',
    source: () => 'acme',
    limit: () => once,
    text: (_src, _n, _w, p) => `the certificate for ${p.names.join(', ')} expires in ${p.daysLeft} days (${p.notAfter}) and renewal has not succeeded`,
  }),
];

/** Facts that end a condition: the alert they name resolves by itself (nobody acknowledges a fixed fault). */
const RESOLVED_BY: ReadonlyArray<{ attach(bus: EventBus, resolve: (kind: AlertKind, source: string) => void): () => void }> = [
  { attach: (bus, resolve) => bus.on('service.up', ({ service }) => resolve('service-down', service)) },
  { attach: (bus, resolve) => bus.on('dns.fixed', ({ domain }) => resolve('dns-record', domain)) },
  // A certificate issued after failed or late renewals.
  { attach: (bus, resolve) => bus.on('certificate.issued', () => { resolve('certificate', 'acme'); resolve('certificate-expiry', 'acme'); }) },
];

export type AlertState = 'active' | ClearReason;

export interface AlertEntry extends Alert {
  readonly state: AlertState;
  readonly clearedAt?: string;
}

export interface AlertEngine {
  /** Alerts raised and not yet acknowledged, oldest first. */
  active(): Alert[];
  /** How many are latched, of the given kinds or all; O(kinds), for per-event callers. */
  activeCount(kinds?: readonly AlertKind[]): number;
  /** The bounded history for `show alerts`, oldest first, with each alert's state. */
  recent(): AlertEntry[];
  /** Acknowledge one alert by id, or all when no id is given; returns the alerts cleared. */
  ack(id?: string): Alert[];
}

export class UnknownAlertError extends Error {
  readonly id: string;
  constructor(id: string) {
    super(`no active alert with id ${JSON.stringify(id)} (see 'show alerts')`);
    this.name = 'UnknownAlertError';
    this.id = id;
  }
}

interface Tracker {
  /** Hit times and weights inside the window; never longer than the threshold. */
  hits: { at: number; weight: number }[];
  lastRaised: number | undefined;
}

interface MutableEntry {
  id: string;
  kind: AlertKind;
  severity: Severity;
  source: string;
  count: number;
  text: string;
  time: string;
  state: AlertState;
  clearedAt?: string;
}

export interface AlertEngineOptions {
  /** Milliseconds clock; tests pass a fake one to step through windows and cool-downs. */
  now?: () => number;
}

const snapshot = (e: MutableEntry): Alert => ({
  id: e.id, kind: e.kind, severity: e.severity, source: e.source, count: e.count, text: e.text, time: e.time,
});

export function createAlertEngine(ctx: Context, options: AlertEngineOptions = {}): AlertEngine & Service {
  const now = options.now ?? Date.now;
  const settings = (): Readonly<Settings> => ctx.store.settings;
  const trackers = new Map<string, Tracker>();
  const latched = new Map<string, MutableEntry>();
  const history: MutableEntry[] = [];
  const latchedByKind = new Map<AlertKind, number>();
  let seq = 0;
  const countKind = (kind: AlertKind, delta: number): void => {
    latchedByKind.set(kind, (latchedByKind.get(kind) ?? 0) + delta);
  };
  let detach: (() => void)[] = [];

  const keyOf = (kind: AlertKind, source: string): string => `${kind}\u0000${source}`;

  function tracker(key: string): Tracker {
    let t = trackers.get(key);
    if (t) {
      trackers.delete(key); // re-insert: Map order is our least-recently-used list
    } else {
      t = { hits: [], lastRaised: undefined };
    }
    trackers.set(key, t);
    const max = settings()['alerts.maxSources'];
    for (const oldest of trackers.keys()) {
      if (trackers.size <= max) break;
      trackers.delete(oldest);
    }
    return t;
  }

  function remember(entry: MutableEntry): void {
    history.push(entry);
    const max = settings()['alerts.recent'];
    if (history.length > max) history.splice(0, history.length - max);
  }

  function clear(entry: MutableEntry, reason: ClearReason): ClearedAlert {
    latched.delete(keyOf(entry.kind, entry.source));
    countKind(entry.kind, -1);
    entry.state = reason;
    entry.clearedAt = new Date(now()).toISOString();
    const cleared: ClearedAlert = { ...snapshot(entry), reason, clearedAt: entry.clearedAt };
    ctx.bus.emit('alert.cleared', cleared);
    return cleared;
  }

  function onHit(h: Hit): void {
    const key = keyOf(h.kind, h.source);
    const open = latched.get(key);
    if (open) {
      open.count += h.weight; // latched: the same attack goes on; one alert, a growing count
      return;
    }
    const t = now();
    const tr = tracker(key);
    tr.hits = tr.hits.filter((x) => t - x.at < h.limit.windowMs);
    tr.hits.push({ at: t, weight: h.weight });
    const total = tr.hits.reduce((sum, x) => sum + x.weight, 0);
    if (total < h.limit.threshold) {
      // Keep at most `threshold` entries: each weighs >= 1, so more would already have fired.
      if (tr.hits.length > h.limit.threshold) tr.hits.splice(0, tr.hits.length - h.limit.threshold);
      return;
    }
    tr.hits = [];
    const cooldownMs = settings()['alerts.cooldown'] * 1000;
    if (tr.lastRaised !== undefined && t - tr.lastRaised < cooldownMs) {
      ctx.log.log('debug', 'alert suppressed by cool-down', { kind: h.kind, source: h.source });
      return;
    }
    tr.lastRaised = t;
    seq += 1;
    const entry: MutableEntry = {
      id: String(seq), kind: h.kind, severity: h.severity, source: h.source, count: total,
      text: h.text(total), time: new Date(t).toISOString(), state: 'active',
    };
    latched.set(key, entry);
    countKind(entry.kind, 1);
    // Bounded like the trackers: a flood from spoofed addresses must not grow memory forever.
    for (const oldest of latched.values()) {
      if (latched.size <= settings()['alerts.maxSources']) break;
      clear(oldest, 'overflow');
    }
    remember(entry);
    ctx.log.log(h.severity === 'critical' ? 'error' : 'warn', `alert ${entry.id}: ${entry.text}`, { kind: h.kind, source: h.source });
    ctx.bus.emit('alert.raised', snapshot(entry));
  }

  return {
    name: 'alerts',
    async start() {
      if (detach.length > 0) return;
      detach = RULES.map((r) => r.attach(ctx.bus, settings, onHit));
      for (const r of RESOLVED_BY) {
        detach.push(r.attach(ctx.bus, (kind, source) => {
          const open = latched.get(keyOf(kind, source));
          if (open) clear(open, 'resolved');
        }));
      }
    },
    async stop() {
      for (const off of detach) off();
      detach = [];
    },
    active() {
      return [...latched.values()].map(snapshot);
    },
    activeCount(kinds?: readonly AlertKind[]) {
      if (!kinds) return latched.size;
      return kinds.reduce((sum, k) => sum + (latchedByKind.get(k) ?? 0), 0);
    },
    recent() {
      return history.map((e) => ({ ...snapshot(e), state: e.state, ...(e.clearedAt ? { clearedAt: e.clearedAt } : {}) }));
    },
    ack(id?: string) {
      if (id === undefined) return [...latched.values()].map((e) => clear(e, 'ack'));
      const entry = [...latched.values()].find((e) => e.id === id);
      if (!entry) throw new UnknownAlertError(id);
      return [clear(entry, 'ack')];
    },
  };
}
