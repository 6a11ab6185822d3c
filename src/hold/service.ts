// The mis-send delay at work: sets holdUntil when a message is accepted, tells the sender how to
// take it back, and cancels on request — by the admin (yubin queue cancel ID, the console) or by
// the sender mailing the cancel address. Cancelled mail is never sent; the sender is told.
import type { Context } from '../context.ts';
import type { Spool } from '../spool/spool.ts';
import type { QueueEntry } from '../spool/entry.ts';
import { QueueError, type Qmgr } from '../qmgr/qmgr.ts';
import { loadQueued } from '../qmgr/admin.ts';
import { injectMail } from '../pickup/inject.ts';
import { plainNotice, rfc5322Date } from '../pickup/generated.ts';
import { holdUntilFor } from './hold.ts';
import { holdKey, cancelAddress, parseCancelAddress, tokenMatches } from './token.ts';
import { outcomeOf } from '../spool/entry.ts';

export interface HoldDeps {
  ctx: Context;
  spool: Spool;
  /** The queue manager, or a stand-in in another process (the CLI): see QueueControl. */
  qmgr: Pick<Qmgr, 'withdraw' | 'enqueue'>;
}

export type CancelledBy = { kind: 'admin' } | { kind: 'sender'; token: string };

export interface Cancelled {
  id: string;
  /** Recipients that will now never get the message. */
  rcpts: string[];
}

/** An SMTP reply for a RCPT to a cancel address (the listener answers with it). */
export interface CancelReply {
  code: number;
  enhanced: string;
  text: string;
}

export interface HoldService {
  /** For the DATA path (ReceiveDeps.holdUntil): when the accepted message may leave. */
  holdUntil(entry: QueueEntry): number | undefined;
  /** After the entry is durable: the held notice to the sender (when hold.notify is on). */
  queued(entry: QueueEntry): Promise<void>;
  cancel(id: string, by: CancelledBy): Promise<Cancelled>;
  /** A recipient address that is a cancel address of this board, or null. */
  isCancelAddress(address: string): boolean;
  /** Cancel through a cancel address; the reply to give at RCPT TO. */
  cancelByAddress(address: string): Promise<CancelReply>;
}

export function createHoldService(deps: HoldDeps): HoldService {
  const { ctx, spool, qmgr } = deps;
  const host = () => ctx.store.get('hostname');
  const enqueue = (id: string) => qmgr.enqueue(id);

  async function tellSender(entry: QueueEntry, subject: string, body: string[]): Promise<void> {
    if (entry.mailFrom === '') return;
    const content = [plainNotice({ host: host(), to: entry.mailFrom, subject, tag: `${entry.id}.hold`, date: new Date(), autoSubmitted: 'auto-generated' }, body)];
    await injectMail({ ctx, spool, enqueue }, { from: '', to: [entry.mailFrom], content, localOnly: true });
  }

  const service: HoldService = {
    holdUntil: (entry) => holdUntilFor(entry, ctx),

    async queued(entry) {
      if (entry.holdUntil === undefined) return;
      ctx.bus.emit('message.held', { queueId: entry.id, from: entry.mailFrom, until: entry.holdUntil });
      const why = `held until ${new Date(entry.holdUntil).toISOString()} for the mis-send delay (hold.delaySeconds); yubin queue cancel ${entry.id} takes it back`;
      for (const r of entry.rcpts) ctx.bus.emit('rcpt.outcome', { ...outcomeOf(entry, r), status: 'held', reply: why, stage: 'hold', until: entry.holdUntil });
      if (!ctx.store.get('hold.notify')) return;
      const address = cancelAddress(await holdKey(ctx.dataDir), entry.id, entry.mailFrom, host());
      const rcpts = entry.rcpts.map((r) => r.address);
      await tellSender(entry, `Held until ${rfc5322Date(new Date(entry.holdUntil))}: your message to ${summary(rcpts)}`, [
        `Your message ${entry.id} to`,
        ...rcpts.map((r) => `  ${r}`),
        `waits until ${rfc5322Date(new Date(entry.holdUntil))} before it is sent.`,
        '',
        'If it went to the wrong people, cancel it now: send an empty message to',
        `  ${address}`,
        `or ask the administrator to run: yubin queue cancel ${entry.id}`,
        '',
        'Nothing needs doing if the message is right: it leaves by itself.',
      ]);
    },

    async cancel(id, by) {
      const first = await loadQueued(spool, id);
      if (by.kind === 'sender' && !tokenMatches(await holdKey(ctx.dataDir), id, first.mailFrom, by.token)) {
        throw new QueueError(`${id}: the cancel address does not match this message`);
      }
      qmgr.withdraw(id); // refused while a delivery attempt is running
      // Read again now that no attempt can start: one may have finished since the first read.
      const entry = await loadQueued(spool, id);
      const pending = entry.rcpts.filter((r) => r.status === 'pending');
      if (pending.length === 0) {
        qmgr.enqueue(id);
        throw new QueueError(`${id}: every recipient has been dealt with already`);
      }
      const who = by.kind === 'admin' ? 'the administrator' : 'the sender';
      for (const r of pending) {
        r.status = 'failed';
        r.lastReply = `cancelled by ${who}`;
      }
      await spool.remove(id);
      ctx.bus.emit('message.cancelled', { queueId: id, by: by.kind, rcpts: pending.map((r) => r.address) });
      for (const r of pending) ctx.bus.emit('rcpt.outcome', { ...outcomeOf(entry, r), status: 'cancelled', reply: r.lastReply!, stage: by.kind });
      const rcpts = pending.map((r) => r.address);
      await tellSender(entry, `Cancelled: your message to ${summary(rcpts)}`, [
        `Your message ${entry.id} was cancelled by ${who} and will not be sent to`,
        ...rcpts.map((r) => `  ${r}`),
      ]);
      return { id, rcpts };
    },

    isCancelAddress: (address) => parseCancelAddress(address, host()) !== null,

    async cancelByAddress(address) {
      const parsed = parseCancelAddress(address, host());
      if (!parsed) return { code: 550, enhanced: '5.1.1', text: `<${address}>: not a cancel address of this server` };
      try {
        const done = await service.cancel(parsed.id, { kind: 'sender', token: parsed.token });
        return { code: 250, enhanced: '2.0.0', text: `cancelled: message ${done.id} will not be sent to ${summary(done.rcpts)}` };
      } catch (err) {
        if (err instanceof QueueError) return { code: 550, enhanced: '5.7.1', text: err.message };
        throw err;
      }
    },
  };
  return service;
}

function summary(rcpts: string[]): string {
  return rcpts.length <= 2 ? rcpts.join(', ') : `${rcpts.slice(0, 2).join(', ')} and ${rcpts.length - 2} more`;
}
