// Mail that Yubin writes itself (bounces, delay notices, hold and cancel notices) enters the queue
// like any other message: written to a spool tmp file, fsync'd, committed, then handed to the
// queue manager. It is routed as the SMTP listener would route it (local mailbox, internal, remote).
import { open } from 'node:fs/promises';
import { newQueueId } from '../spool/queue-id.ts';
import { routeRecipient } from '../route/route.ts';
import { routeSiteOf } from '../route/site.ts';
import type { Context } from '../context.ts';
import type { Spool } from '../spool/spool.ts';
import type { QueueEntry, RcptState } from '../spool/entry.ts';

export interface InjectDeps {
  ctx: Context;
  spool: Spool;
  /** Tell the queue manager (Qmgr.enqueue). */
  enqueue: (id: string) => void;
}

export interface GeneratedMail {
  /** Envelope sender; '' (the null sender) for every notice, so that no notice is ever bounced. */
  from: string;
  to: string[];
  /** The message, header and body, CRLF line ends, in pieces (never built whole when large). */
  content: AsyncIterable<string | Buffer> | Iterable<string | Buffer>;
  /** Deliver only to mailboxes here (or the internal server): a notice meant for a local user never leaves. */
  localOnly?: boolean;
}

/** Queue a generated message; returns its queue ID, or null when no recipient has a route. */
export async function injectMail(deps: InjectDeps, mail: GeneratedMail): Promise<string | null> {
  const { ctx, spool } = deps;
  const now = Date.now();
  const site = routeSiteOf(ctx);
  const rcpts: RcptState[] = mail.to.flatMap((original) =>
    routeRecipient(original, site).filter((r) => !mail.localOnly || r.route.kind !== 'remote').map((r) => ({ original, address: r.address, route: r.route, status: 'pending' as const, attempts: 0, nextAttempt: now })),
  );
  if (rcpts.length === 0) {
    ctx.log.log('warn', 'generated mail has no deliverable recipient; dropped', { to: mail.to });
    return null;
  }
  const id = newQueueId(now);
  await spool.init();
  const file = await open(spool.tmpPath(id), 'wx', 0o600);
  let size = 0;
  try {
    for await (const piece of mail.content) {
      const bytes = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
      await file.write(bytes, 0, bytes.length, size);
      size += bytes.length;
    }
    await file.sync();
  } catch (err) {
    await file.close().catch(() => undefined);
    await spool.discardTmp(id);
    throw err;
  }
  await file.close();
  const host = ctx.store.get('hostname');
  const entry: QueueEntry = {
    id,
    received: now,
    mailFrom: mail.from,
    direction: rcpts.some((r) => r.route.kind === 'remote') ? 'outbound' : 'inbound',
    client: { address: '127.0.0.1', hostname: host, helo: host, tls: false, user: null, trusted: true },
    listener: 'yubin',
    size,
    prepend: [],
    rcpts,
  };
  await spool.commit(entry);
  deps.enqueue(id);
  return id;
}
