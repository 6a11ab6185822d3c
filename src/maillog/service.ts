// The mail log (Postfix's maillog): what the stations report about messages on the bus becomes
// log lines in one stable format (docs/LOGGING.md) — arrived, check (debug unless it acted),
// queued, and one delivery line per recipient for every outcome — and facts in the message trace's
// index (index.ts), which keeps them for trace.days whatever log.level says.
import type { Context, Service } from '../context.ts';
import { dsnOf, type RcptOutcome } from '../mail/outcome.ts';
import { TraceIndex, traceFolder } from './index.ts';

/** The fields of a delivery line, in their documented order. */
export function deliveryFields(o: RcptOutcome): Record<string, unknown> {
  return {
    queueId: o.queueId ?? 'NOQUEUE',
    session: o.session,
    client: o.client,
    from: `<${o.from}>`,
    to: `<${o.to}>`,
    orig_to: o.origTo !== undefined ? `<${o.origTo}>` : undefined,
    relay: o.relay,
    delay: o.delay,
    attempts: o.attempts,
    dsn: dsnOf(o.reply),
    status: o.status,
    stage: o.stage,
    quarantine: o.quarantine,
    until: o.until !== undefined ? new Date(o.until).toISOString() : undefined,
    reply: o.reply,
  };
}

export interface MailLog extends Service {
  readonly index: TraceIndex;
}

export function createMailLog(ctx: Context): MailLog {
  const index = new TraceIndex(traceFolder(ctx.dataDir), () => ({ days: ctx.store.get('trace.days'), maxBytes: ctx.store.get('trace.maxBytes') }));
  let detach: Array<() => void> = [];
  const log = ctx.log;
  return {
    name: 'maillog',
    index,
    async start() {
      if (detach.length > 0) return;
      const bus = ctx.bus;
      detach = [
        bus.on('message.arrived', (m) => {
          const tls = m.tls ? m.tls.protocol : undefined;
          log.log('info', 'arrived', {
            queueId: m.queueId, session: m.session, client: m.client.address, helo: m.client.helo || undefined, listener: m.listener,
            tls, user: m.client.user ?? undefined, trusted: m.client.trusted, direction: m.direction, from: `<${m.from}>`, nrcpt: m.rcpts.length, size: m.size,
          });
          index.append({
            t: Date.now(), k: 'arrived', q: m.queueId, ...(m.session ? { session: m.session } : {}), client: m.client.address,
            ...(m.client.hostname ? { host: m.client.hostname } : {}), helo: m.client.helo, listener: m.listener, ...(tls ? { tls } : {}),
            ...(m.client.user ? { user: m.client.user } : {}), trusted: m.client.trusted, direction: m.direction, from: m.from, rcpts: m.rcpts, size: m.size,
          });
        }),
        bus.on('message.checked', (c) => {
          // A check that only looked is debug; one that refused, held or deferred the message is info.
          log.log(c.action === 'accept' ? 'debug' : 'info', 'check', { queueId: c.queueId, stage: c.stage, action: c.action, ...c.facts });
          index.append({ t: Date.now(), k: 'check', q: c.queueId, stage: c.stage, action: c.action, ...(c.facts ? { facts: c.facts } : {}) });
        }),
        bus.on('message.received', (m) => {
          log.log('info', 'queued', { queueId: m.queueId, session: m.session, from: `<${m.from}>`, nrcpt: m.rcpts.length, size: m.size });
          index.append({ t: Date.now(), k: 'queued', q: m.queueId, n: m.rcpts.length, size: m.size });
        }),
        bus.on('rcpt.outcome', (o) => {
          log.log('info', 'delivery', deliveryFields(o));
          const { queueId, ...rest } = o;
          index.append({ t: Date.now(), k: 'outcome', q: queueId, ...rest });
        }),
        bus.on('quarantine.held', (h) => index.append({ t: Date.now(), k: 'quarantine', q: h.queueId, id: h.id, what: 'held', why: h.reason })),
        bus.on('quarantine.released', (h) => index.append({ t: Date.now(), k: 'quarantine', q: h.queueId, id: h.id, what: 'released' })),
        bus.on('quarantine.deleted', (h) => index.append({ t: Date.now(), k: 'quarantine', q: h.queueId, id: h.id, what: 'deleted', why: h.why })),
      ];
    },
    async stop() {
      for (const off of detach) off();
      detach = [];
      index.close();
    },
  };
}
