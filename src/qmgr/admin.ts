// Queue management for the CLI and the console (Postfix's postqueue/postsuper): list, show,
// flush, hold, release, delete. Works on the spool files, so it runs in the daemon (console) or in
// another process (yubin CLI); there the running queue manager notices changes on its next rescan.
import { writeFile, open } from 'node:fs/promises';
import type { Spool } from '../spool/spool.ts';
import type { QueueEntry } from '../spool/entry.ts';
import { isQueueId } from '../spool/queue-id.ts';
import { QueueError, type Qmgr } from './qmgr.ts';
import { queuedIds, flushRequestPath } from './files.ts';
import { outcomeOf } from '../spool/entry.ts';
import type { EventBus } from '../events/bus.ts';

/** What the admin operations need of the queue manager; in another process, a file-based stand-in. */
export type QueueControl = Pick<Qmgr, 'withdraw' | 'enqueue' | 'flush'>;

/** The stand-in used where no queue manager runs (the CLI): the daemon's rescan does the rest. */
export function remoteControl(spool: Spool): QueueControl {
  return {
    withdraw: () => undefined,
    enqueue: () => undefined,
    flush: () => void writeFile(flushRequestPath(spool), '').catch(() => undefined),
  };
}

export class QueueAdmin {
  readonly #spool: Spool;
  readonly #control: QueueControl;
  readonly #bus: Pick<EventBus, 'emit'> | undefined;

  /** `bus`: where the admin's holds and deletes become delivery lines (rcpt.outcome). */
  constructor(spool: Spool, control: QueueControl = remoteControl(spool), bus?: Pick<EventBus, 'emit'>) {
    this.#spool = spool;
    this.#control = control;
    this.#bus = bus;
  }

  #tell(entry: QueueEntry, status: 'held' | 'deleted', reply: string): void {
    for (const r of entry.rcpts) if (r.status === 'pending') this.#bus?.emit('rcpt.outcome', { ...outcomeOf(entry, r), status, reply, stage: 'admin' });
  }

  async list(): Promise<QueueEntry[]> {
    const out: QueueEntry[] = [];
    for (const id of await queuedIds(this.#spool)) {
      const entry = await this.#spool.load(id).catch(() => null); // delivered meanwhile
      if (entry) out.push(entry);
    }
    return out;
  }

  load(id: string): Promise<QueueEntry> {
    return loadQueued(this.#spool, id);
  }

  /** The entry and the message's header (first `maxBytes`). */
  async show(id: string, maxBytes = 16 * 1024): Promise<{ entry: QueueEntry; header: string }> {
    const entry = await this.load(id);
    const file = await open(this.#spool.messagePath(id), 'r');
    try {
      const buf = Buffer.alloc(maxBytes);
      const { bytesRead } = await file.read(buf, 0, maxBytes, 0);
      const text = buf.subarray(0, bytesRead).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      return { entry, header: [...entry.prepend, end >= 0 ? text.slice(0, end) : text].join('\r\n') };
    } finally {
      await file.close();
    }
  }

  async flush(id?: string): Promise<void> {
    if (id !== undefined) await this.load(id);
    this.#control.flush(id);
  }

  async hold(id: string): Promise<void> {
    await this.load(id);
    this.#control.withdraw(id);
    const entry = await this.load(id);
    entry.held = true;
    await this.#spool.save(entry);
    this.#tell(entry, 'held', `held by the administrator until 'queue release ${id}'`);
  }

  async release(id: string): Promise<void> {
    const entry = await this.load(id);
    if (!entry.held) throw new QueueError(`${id} is not held`);
    delete entry.held;
    await this.#spool.save(entry);
    this.#control.enqueue(id);
  }

  /** Remove without a bounce (postsuper -d): the admin's decision, nobody is told. */
  async delete(id: string): Promise<void> {
    const entry = await this.load(id);
    this.#control.withdraw(id);
    await this.#spool.remove(id);
    this.#tell(entry, 'deleted', 'deleted by the administrator; nobody was told');
  }
}

/** A queue entry, or the admin's error naming what is wrong with the ID. */
export async function loadQueued(spool: Spool, id: string): Promise<QueueEntry> {
  if (!isQueueId(id)) throw new QueueError(`${JSON.stringify(id)} is not a queue ID (19 letters and digits, as 'queue list' shows)`);
  try {
    return await spool.load(id);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new QueueError(`${id}: no such message in the queue (already sent, deleted or cancelled)`);
    throw err;
  }
}

/** One line per message, then one per recipient: what `queue list` and `show queue` print. */
export function formatQueue(entries: QueueEntry[], now = Date.now()): string {
  const lines: string[] = [];
  for (const e of entries) {
    // Two different holds, named apart: the admin's (until released) and the mis-send delay (ends by itself).
    const delayed = !e.held && e.holdUntil !== undefined && e.holdUntil > now;
    const state = e.held
      ? ` HELD by the administrator (queue release ${e.id})`
      : delayed ? ` DELAYED ${Math.ceil((e.holdUntil! - now) / 1000)} s (mis-send delay; queue cancel ${e.id} takes it back)` : '';
    lines.push(`${e.id} ${String(e.size).padStart(9)} ${new Date(e.received).toISOString()} <${e.mailFrom}>${state}`);
    for (const r of e.rcpts) {
      const status = r.status !== 'pending' ? r.status : e.held ? 'held' : delayed ? 'delayed' : 'pending';
      const when = r.status === 'pending' && r.attempts > 0 ? `, next try ${new Date(r.nextAttempt).toISOString()}` : '';
      lines.push(`    ${r.address} ${status}${r.attempts > 0 ? ` after ${r.attempts} attempt(s)${when}` : ''}${r.lastReply ? `: ${r.lastReply}` : ''}`);
    }
  }
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}
