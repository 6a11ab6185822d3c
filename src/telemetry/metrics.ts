// Counters for telemetry and `show status`, collected from bus events since start.
// Reading them never blocks mail: counting is a number increment in a bus listener.
import { statfs } from 'node:fs/promises';
import type { Context, Service } from '../context.ts';
import { OUTCOME_STATUSES, type OutcomeStatus } from '../mail/outcome.ts';

export interface Counters {
  messagesIn: number;
  messagesOut: number;
  messagesRejected: number;
  relaysDenied: number;
  /** Clients refused for talking before the greeting (smtp.greetingDelay): spam robots, mostly. */
  earlyTalkers: number;
  authFailures: number;
  viruses: number;
  op25bHits: number;
  deliveryFailures: number;
  activeAlerts: number;
  /** Last depth reported by the queue (queue.backlog) unless a live source is set. */
  queueDepth: number;
  /** The log's delivery lines since start, by status: one per recipient and outcome (src/maillog/). */
  recipients: Record<OutcomeStatus, number>;
}

export interface MetricsSnapshot extends Counters {
  rssBytes: number;
  uptimeSeconds: number;
  /** Bytes free to unprivileged writers on the data folder's file system; null if unknown. */
  diskFreeBytes: number | null;
}

export interface Metrics extends Service {
  counters(): Readonly<Counters>;
  snapshot(): Promise<MetricsSnapshot>;
  /** Let the queue manager report its live depth instead of the last backlog event. */
  setQueueDepthSource(read: () => number): void;
}

export function createMetrics(ctx: Context): Metrics {
  const c: Counters = {
    messagesIn: 0, messagesOut: 0, messagesRejected: 0, relaysDenied: 0, earlyTalkers: 0, authFailures: 0,
    viruses: 0, op25bHits: 0, deliveryFailures: 0, activeAlerts: 0, queueDepth: 0,
    recipients: Object.fromEntries(OUTCOME_STATUSES.map((s) => [s, 0])) as Record<OutcomeStatus, number>,
  };
  let queueDepth: (() => number) | undefined;
  let detach: (() => void)[] = [];

  const read = (): Counters => ({ ...c, recipients: { ...c.recipients }, queueDepth: queueDepth ? queueDepth() : c.queueDepth });

  return {
    name: 'metrics',
    async start() {
      if (detach.length > 0) return;
      const bus = ctx.bus;
      detach = [
        bus.on('message.received', () => { c.messagesIn += 1; }),
        bus.on('message.delivered', () => { c.messagesOut += 1; }),
        // The same events the delivery lines are written from: the counts match the log.
        bus.on('rcpt.outcome', (o) => { c.recipients[o.status] += 1; }),
        bus.on('message.rejected', () => { c.messagesRejected += 1; }),
        bus.on('relay.denied', () => { c.relaysDenied += 1; }),
        bus.on('smtp.early_talker', () => { c.earlyTalkers += 1; }),
        bus.on('auth.failed', () => { c.authFailures += 1; }),
        bus.on('virus.found', () => { c.viruses += 1; }),
        bus.on('op25b.blocked', (p) => { c.op25bHits += p.count; }),
        bus.on('delivery.failed', () => { c.deliveryFailures += 1; }),
        bus.on('queue.backlog', (p) => { c.queueDepth = p.depth; }),
        bus.on('alert.raised', () => { c.activeAlerts += 1; }),
        bus.on('alert.cleared', () => { c.activeAlerts = Math.max(0, c.activeAlerts - 1); }),
      ];
    },
    async stop() {
      for (const off of detach) off();
      detach = [];
    },
    counters: read,
    setQueueDepthSource(fn) {
      queueDepth = fn;
    },
    async snapshot() {
      let diskFreeBytes: number | null = null;
      try {
        const s = await statfs(ctx.dataDir);
        diskFreeBytes = s.bavail * s.bsize;
      } catch {
        // Data folder unreadable: report unknown rather than a misleading zero.
      }
      return {
        ...read(),
        rssBytes: process.memoryUsage.rss(),
        uptimeSeconds: Math.floor(process.uptime()),
        diskFreeBytes,
      };
    },
  };
}
