// The MDA: a queued recipient routed to a mailbox is written into that user's Maildir, with
// Return-Path and Delivered-To in front (RFC 5321 §4.4; Delivered-To as Postfix/qmail write it).
// The Maildir name derives from the queue ID and recipient index, so a delivery repeated after a
// crash finds its own earlier copy and does not deliver twice.
import { open, type FileHandle } from 'node:fs/promises';
import { writeAll } from '../files/durable.ts';
import { maildirOf, deliver, hasMessage, parseName } from '../maildir/maildir.ts';
import { mailboxUsage, addedToMailbox } from '../maildir/usage.ts';
import type { Context } from '../context.ts';
import type { QueueEntry } from '../spool/entry.ts';
import type { Attempt, Deliverer, DeliveryResult } from '../qmgr/deliverer.ts';
import { POSTMASTER_MAILBOX } from '../route/route.ts';
import { quotaFit, quotaReply } from '../policy/quota.ts';

export function maildirBaseName(entry: QueueEntry, rcptIndex: number, host: string): string {
  return `${Math.floor(entry.received / 1000)}.Y${entry.id}R${rcptIndex}.${host}`;
}

export function createMailboxDeliverer(ctx: Context, messagePath: (id: string) => string): Deliverer {
  return {
    async deliver(entry, indexes, attempt) {
      const results: DeliveryResult[] = [];
      for (const i of indexes) results.push(await deliverOne(ctx, entry, i, messagePath(entry.id), attempt));
      return results;
    },
  };
}

async function deliverOne(ctx: Context, entry: QueueEntry, index: number, path: string, attempt?: Attempt): Promise<DeliveryResult> {
  const rcpt = entry.rcpts[index]!;
  if (rcpt.route.kind !== 'mailbox') throw new Error('mailbox deliverer given a non-mailbox route');
  const user = rcpt.route.user;
  // The postmaster's mailbox is kept whether or not a user of that name exists (src/route/route.ts).
  const kept = user === POSTMASTER_MAILBOX || user === ctx.store.get('postmaster');
  if (!ctx.users.get(user) && !kept) return { status: 'failed', reply: `550 5.1.1 <${rcpt.address}>: user ${user} no longer exists` };
  const root = maildirOf(ctx.dataDir, user);
  const host = ctx.store.get('hostname');
  const base = maildirBaseName(entry, index, host);
  // Only an earlier attempt can have left a copy (the name holds the queue ID): the search reads
  // the whole mailbox, so it is skipped for an entry this process committed and never tried.
  if (!attempt?.first && (await hasMessage(root, base))) return { status: 'delivered', reply: '250 2.0.0 already in mailbox', relay: 'local' };

  const head = [`Return-Path: <${entry.mailFrom}>`, `Delivered-To: ${rcpt.address}`, ...entry.prepend].join('\r\n') + '\r\n';
  // The one quota rule (src/policy/quota.ts), on the size counted at RCPT and DATA: the message as spooled.
  const fit = quotaFit(ctx.users.quotaOf(user), await mailboxUsage(root), entry.size);
  if (fit !== 'fits') {
    const r = quotaReply(fit, rcpt.address, entry.size);
    return { status: fit === 'full' ? 'deferred' : 'failed', reply: `${r.code} ${r.enhanced} ${r.text}`, relay: 'local' };
  }
  const name = await deliver(root, base, async (file) => {
    const headBytes = Buffer.from(head);
    await writeAll(file, headBytes, 0);
    await copyInto(path, entry.size, file, headBytes.length);
  });
  addedToMailbox(root, parseName(name).size ?? 0);
  ctx.bus.emit('message.delivered', { queueId: entry.id, rcpt: rcpt.address, route: 'local' });
  return { status: 'delivered', reply: `250 2.0.0 delivered to maildir of ${user}`, relay: 'local' };
}

/**
 * Copies the spooled message into `file` from `position` through one reused 64 KiB buffer: the
 * message is never held whole, and no buffer is left per chunk for V8 to collect (a stream's fresh
 * buffer per chunk left up to 16 MiB of dead buffers behind a 50 MiB message).
 */
async function copyInto(path: string, size: number, file: FileHandle, position: number): Promise<void> {
  const source = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafeSlow(Math.min(64 * 1024, Math.max(size, 1)));
    for (;;) {
      const { bytesRead } = await source.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      await writeAll(file, buf.subarray(0, bytesRead), position);
      position += bytesRead;
    }
  } finally {
    await source.close();
  }
}
