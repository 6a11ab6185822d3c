// The bounce station: hooks the queue manager so that a sender learns what became of the mail —
// a "failed" report when recipients fail for good, one "delayed" report when delivery drags on.
// Never to the null sender (RFC 5321 §4.5.5): a bounce of a bounce would loop.
import { queuedMessage } from '../outbound/message-stream.ts';
import { dsnMessage, type DsnAction } from './dsn.ts';
import { injectMail, type InjectDeps } from '../pickup/inject.ts';
import type { Qmgr } from '../qmgr/qmgr.ts';
import type { QueueEntry } from '../spool/entry.ts';

export async function sendDsn(deps: InjectDeps, entry: QueueEntry, indexes: number[], action: DsnAction): Promise<string | null> {
  if (entry.mailFrom === '') return null;
  const { ctx, spool } = deps;
  const retryUntil = entry.received + ctx.store.get('queue.maxAgeHours') * 3600_000;
  const content = dsnMessage(
    { action, reportingHost: ctx.store.get('hostname'), entry, rcpts: indexes.map((i) => entry.rcpts[i]!), retryUntil, now: new Date() },
    queuedMessage(entry, spool.messagePath(entry.id)),
    ctx.store.get('bounce.maxReturnedHeaderBytes'),
  );
  const id = await injectMail(deps, { from: '', to: [entry.mailFrom], content });
  ctx.log.log('info', `${action} notice queued`, { queueId: entry.id, dsn: id, to: `<${entry.mailFrom}>` });
  return id;
}

/** Register the bounce hooks on the queue manager. */
export function attachBounces(qmgr: Qmgr, deps: Omit<InjectDeps, 'enqueue'>): void {
  const full: InjectDeps = { ...deps, enqueue: (id) => qmgr.enqueue(id) };
  qmgr.onFailure(async (entry, failed) => {
    await sendDsn(full, entry, failed, 'failed');
  });
  qmgr.onDelay(async (entry, pending) => {
    await sendDsn(full, entry, pending, 'delayed');
  });
}
