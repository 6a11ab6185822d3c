// DATA: stream the message into the spool, run the content pipeline on the file, and only when the
// entry is durable on disk answer "250 2.0.0 queued as <id>".
import { pipeline } from 'node:stream/promises';
import { unlink, stat } from 'node:fs/promises';
import { fsyncFile } from '../files/durable.ts';
import { HeadCapture } from '../spool/head.ts';
import type { Readable } from 'node:stream';
import type { Context } from '../context.ts';
import type { Spool } from '../spool/spool.ts';
import type { QueueEntry, RcptState } from '../spool/entry.ts';
import type { MessageContext } from '../pipeline/stage.ts';
import type { ClientInfo, Direction, Reply } from '../mail/types.ts';
import type { OutcomeStatus, RcptOutcome } from '../mail/outcome.ts';
import type { Pipeline } from '../pipeline/run.ts';
import { uniqueDeliveries } from '../route/route.ts';
import type { Routed } from '../mail/types.ts';
import { newQueueId } from '../spool/queue-id.ts';
import { DataGuard } from './data-guard.ts';
import { receivedHeader } from './received.ts';
import { withFields } from '../log/logger.ts';

export interface Envelope {
  mailFrom: string;
  /** Each accepted RCPT with the routes it expanded to. */
  rcpts: Array<{ address: string; routes: Routed[] }>;
}

export interface ReceiveInput {
  /** Aborted when the session's guard ended it: nothing is queued after that. */
  signal?: AbortSignal;
  stream: Readable;
  envelope: Envelope;
  client: ClientInfo;
  direction: Direction;
  listener: string;
  tls: { protocol: string; cipher: string } | null;
}

export type ReceiveOutcome =
  | { kind: 'queued'; id: string }
  | { kind: 'quarantined'; id: string }
  | ({ kind: 'refused' } & Reply);

export interface ReceiveDeps {
  ctx: Context;
  spool: Spool;
  /** The content checks (src/pipeline/run.ts). */
  pipeline: Pipeline;
  /** Mis-send delay: epoch ms before which an outbound message must not leave. */
  holdUntil?: (entry: QueueEntry) => number | undefined;
  /** A refusal for a message of this size to these recipients (e.g. larger than a mailbox quota). */
  sizeCheck?: (size: number, rcpts: Envelope['rcpts']) => Promise<Reply | null>;
  /** Called after the entry is durable. */
  queued: (entry: QueueEntry) => void;
}

export async function receiveMessage(deps: ReceiveDeps, input: ReceiveInput): Promise<ReceiveOutcome> {
  const { ctx, spool } = deps;
  const id = newQueueId();
  const maxSize = ctx.store.get('smtp.maxSize');
  const guard = new DataGuard(maxSize);
  const onlyRcpt = input.envelope.rcpts.length === 1 ? input.envelope.rcpts[0]!.address : null;
  const trace =
    receivedHeader({
      helo: input.client.helo,
      clientAddress: input.client.address,
      clientHostname: input.client.hostname,
      byHost: ctx.store.get('hostname'),
      queueId: id,
      tls: input.tls,
      user: input.client.user,
      rcpt: onlyRcpt,
      date: new Date(),
    }) + '\r\n';

  // With group commit the message is fsync'd in the commit round, with the others of the window.
  const groupCommitMs = ctx.store.get('spool.groupCommitMs');
  let path = spool.tmpPath(id);
  const traceBytes = Buffer.from(trace);
  const capture = new HeadCapture(traceBytes);
  try {
    const file = await spool.create(id);
    try {
      file.stream.write(traceBytes);
      await pipeline(input.stream, guard, capture, file.stream);
      await file.finish(!guard.oversize && !guard.bareNewline && groupCommitMs === 0);
    } finally {
      await file.close();
    }
  } catch (err) {
    await spool.discardTmp(id);
    throw err;
  }
  const session = input.client.session;
  ctx.bus.emit('message.arrived', {
    queueId: id,
    ...(session ? { session } : {}),
    client: input.client,
    listener: input.listener,
    direction: input.direction,
    tls: input.tls,
    from: input.envelope.mailFrom,
    rcpts: input.envelope.rcpts.map((r) => r.address),
    size: guard.bytes + traceBytes.length,
  });
  /** One delivery line per recipient (src/mail/outcome.ts): what the client was told at DATA. */
  const tell = (status: OutcomeStatus, reply: string, rcpts: ReadonlyArray<{ address: string; original?: string }>, extra: Partial<RcptOutcome> = {}) => {
    for (const r of rcpts) {
      ctx.bus.emit('rcpt.outcome', {
        queueId: id,
        ...(session ? { session } : {}),
        client: input.client.address,
        from: input.envelope.mailFrom,
        to: r.address,
        ...(r.original && r.original !== r.address ? { origTo: r.original } : {}),
        status,
        reply,
        ...extra,
      });
    }
  };
  // Every refusal at DATA is counted (message.rejected: `show status`, MQTT metrics) and logged per recipient.
  const refuse = async (reply: Reply, stage = 'data'): Promise<ReceiveOutcome> => {
    await spool.discardTmp(id);
    ctx.bus.emit('message.rejected', { client: input.client.address, from: input.envelope.mailFrom, code: reply.code, text: reply.text });
    tell('rejected', `${reply.code} ${reply.enhanced} ${reply.text}`, input.envelope.rcpts, { stage });
    return { kind: 'refused', ...reply };
  };
  if (guard.oversize) return await refuse({ code: 552, enhanced: '5.3.4', text: `Message too big: ${guard.bytes} bytes sent, limit is ${maxSize}` });
  if (guard.bareNewline) {
    return await refuse({
      code: 550,
      enhanced: '5.6.0',
      text: `Message refused: bare ${guard.bareNewline} in DATA; lines must end with CRLF (RFC 5321 section 2.3.8)`,
    });
  }

  const size = guard.bytes + traceBytes.length;
  const tooBig = (await deps.sizeCheck?.(size, input.envelope.rcpts)) ?? null;
  if (tooBig) return await refuse(tooBig);
  // One copy per final mailbox or address, however many RCPTs or aliases name it.
  const deliveries = uniqueDeliveries(input.envelope.rcpts);
  const rcptList = deliveries.map((d) => d.address);
  // The stages read the start of the file (all of a small message) from memory (src/pipeline/run.ts).
  const message: MessageContext = { queueId: id, direction: input.direction, client: input.client, mailFrom: input.envelope.mailFrom, rcpts: rcptList, path, size, head: capture.head(size) };
  let checked;
  try {
    // Every line a stage logs about this message carries its queue ID and session.
    checked = await deps.pipeline.run(message, { ...ctx, log: withFields(ctx.log, { queueId: id, ...(session ? { session } : {}) }) });
  } catch (err) {
    await spool.discardTmp(id);
    throw err;
  }
  if (checked.kind === 'refused') {
    await spool.discardTmp(id);
    // The runner counted it (message.rejected); the delivery lines say what each recipient's sender was told.
    tell('rejected', `${checked.code} ${checked.enhanced} ${checked.text}`, input.envelope.rcpts, { stage: checked.stage });
    return { kind: 'refused', code: checked.code, enhanced: checked.enhanced, text: checked.text };
  }
  if (checked.kind === 'quarantined') {
    await spool.discardTmp(id);
    tell('quarantined', `250 2.0.0 Ok: queued as ${id}`, deliveries, { stage: checked.stage, quarantine: checked.id, relay: 'quarantine' });
    return { kind: 'quarantined', id };
  }
  path = checked.path;
  const prepend = checked.prepend;

  const now = Date.now();
  const rcpts: RcptState[] = deliveries.map((d) => ({ original: d.original, address: d.address, route: d.route, status: 'pending' as const, attempts: 0, nextAttempt: now }));
  const entry: QueueEntry = {
    id,
    received: now,
    mailFrom: input.envelope.mailFrom,
    direction: input.direction,
    client: input.client,
    listener: input.listener,
    size: checked.size,
    prepend,
    rcpts,
  };
  if (rcpts.length === 0) {
    // Every recipient was a cancel address: the message itself goes nowhere.
    await unlinkAll(spool, id, path);
    return { kind: 'queued', id };
  }
  const hold = deps.holdUntil?.(entry);
  if (hold !== undefined && hold > now) entry.holdUntil = hold;
  // One turn of the event loop first: a rejection left by a stage is only reported (and the guard
  // only ends the session) once the current microtasks have run.
  if (input.signal) await new Promise((r) => setImmediate(r));
  if (input.signal?.aborted) {
    // The client was told 451 already: queueing now would deliver a message it will send again.
    await unlinkAll(spool, id, path);
    throw input.signal.reason instanceof Error ? input.signal.reason : new Error('session ended');
  }
  try {
    if (groupCommitMs > 0) {
      await spool.commitGrouped(entry, path, groupCommitMs);
    } else {
      // A stage rewrote the message: make sure the rewrite is on disk before we acknowledge it.
      if (path !== spool.tmpPath(id)) await fsyncFile(path);
      await spool.commit(entry, path);
    }
    // A stage rewrote the message: the original spool file is not what is queued.
    if (path !== spool.tmpPath(id)) await spool.discardTmp(id);
  } catch (err) {
    // Never acknowledged: what is left in tmp/ would only wait for the next recovery.
    await unlinkAll(spool, id, path);
    throw err;
  }
  deps.queued(entry);
  ctx.bus.emit('message.received', {
    queueId: id,
    client: input.client.address,
    from: input.envelope.mailFrom,
    rcpts: rcptList,
    size: entry.size,
    listener: input.listener,
    ...(session ? { session } : {}),
  });
  return { kind: 'queued', id };
}

async function unlinkAll(spool: Spool, id: string, path: string): Promise<void> {
  await spool.discardTmp(id);
  await unlink(path).catch(() => undefined);
}
