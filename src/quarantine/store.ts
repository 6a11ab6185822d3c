// The quarantine: held messages as plain files (DATA/quarantine/<id>.eml) with a JSON record beside
// each (<id>.json). Mail never sits in lowdb. list/show/release/delete serve `yubin quarantine`;
// release hands the message back through a callback the firmware provides (re-injection).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { writeFileDurable, fsyncDir } from '../files/durable.ts';
import { readHead } from '../mime/mime.ts';
import type { Context } from '../context.ts';
import type { MessageContext } from '../pipeline/stage.ts';
import type { Direction } from '../mail/types.ts';

export interface HeldMessage {
  id: string;
  queueId: string;
  /** Stage that held it: "spam", "antivirus", "attachments"... */
  stage: string;
  reason: string;
  direction: Direction;
  client: string;
  mailFrom: string;
  rcpts: string[];
  subject: string;
  size: number;
  heldAt: string;
  expiresAt: string;
}

/** What a release hands to the firmware: the held file and its envelope. */
export interface Reinjection {
  path: string;
  held: HeldMessage;
}

/** Provided by the firmware: queue the message again (normally straight to delivery). */
export type Reinject = (message: Reinjection) => Promise<void>;

export class QuarantineError extends Error {}

const ID_RE = /^[a-z0-9]{1,16}-[0-9a-f]{12}$/;

export class Quarantine {
  readonly dir: string;
  readonly #context: Context;

  constructor(context: Context) {
    this.#context = context;
    this.dir = join(context.dataDir, 'quarantine');
  }

  /**
   * Holds a copy of `message` (with `headers` prepended, each "Name: value"). The source file is
   * not touched. Returns the new record.
   */
  async hold(message: MessageContext, reason: string, headers: readonly string[] = [], stage = 'pipeline'): Promise<HeldMessage> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const id = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const eml = join(this.dir, `${id}.eml`);
    const prefix = headers.map((h) => `${h}\r\n`).join('');
    const out = createWriteStream(eml, { mode: 0o600 });
    out.write(prefix);
    await pipeline(createReadStream(message.path), out);
    await fsyncFile(eml);
    const head = await readHead(message.path, undefined, message.head);
    const now = Date.now();
    const held: HeldMessage = {
      id,
      queueId: message.queueId,
      stage,
      reason,
      direction: message.direction,
      client: message.client.address,
      mailFrom: message.mailFrom,
      rcpts: [...message.rcpts],
      subject: head.getFirst('subject').slice(0, 200),
      size: Buffer.byteLength(prefix) + message.size,
      heldAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.#context.store.get('quarantine.expiry') * 1000).toISOString(),
    };
    // The record is written last: a held message without one is a crash leftover, swept below.
    await writeFileDurable(join(this.dir, `${id}.json`), JSON.stringify(held, null, 2) + '\n');
    this.#context.bus.emit('quarantine.held', { id, queueId: held.queueId, stage, reason });
    this.#context.log.log('info', 'message quarantined', { id, queueId: held.queueId, stage, reason });
    await this.#enforceLimit();
    return held;
  }

  /** Every held message, oldest first. */
  async list(): Promise<HeldMessage[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: HeldMessage[] = [];
    for (const name of names) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      try {
        out.push(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as HeldMessage);
      } catch {
        // Removed meanwhile (release, expiry): not an error for a listing.
      }
    }
    return out.sort((a, b) => a.heldAt.localeCompare(b.heldAt) || a.id.localeCompare(b.id));
  }

  /** The record and the path of the held file; throws QuarantineError naming the id when unknown. */
  async show(id: string): Promise<Reinjection> {
    if (!ID_RE.test(id)) throw new QuarantineError(`${JSON.stringify(id)} is not a quarantine id (see 'yubin quarantine list')`);
    try {
      const held = JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8')) as HeldMessage;
      return { path: join(this.dir, `${id}.eml`), held };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new QuarantineError(`no held message ${id} (released, deleted or expired)`);
      throw err;
    }
  }

  /** Hands the message to `reinject`; only once that succeeded is it removed from the quarantine. */
  async release(id: string, reinject: Reinject): Promise<HeldMessage> {
    const found = await this.show(id);
    await reinject(found);
    await this.#remove(found.held.id);
    this.#context.bus.emit('quarantine.released', { id, queueId: found.held.queueId });
    this.#context.log.log('info', 'quarantined message released', { id, queueId: found.held.queueId });
    return found.held;
  }

  async delete(id: string): Promise<HeldMessage> {
    const found = await this.show(id);
    await this.#remove(id);
    this.#context.bus.emit('quarantine.deleted', { id, queueId: found.held.queueId, why: 'admin' });
    return found.held;
  }

  /** Deletes what has expired (and crash leftovers). Returns the ids removed. */
  async expire(now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    for (const held of await this.list()) {
      if (Date.parse(held.expiresAt) > now) continue;
      await this.#remove(held.id);
      removed.push(held.id);
      this.#context.bus.emit('quarantine.deleted', { id: held.id, queueId: held.queueId, why: 'expired' });
    }
    await this.#sweepOrphans(now);
    if (removed.length > 0) this.#context.log.log('info', 'quarantine expiry', { removed: removed.length });
    return removed;
  }

  async #remove(id: string): Promise<void> {
    // The record goes first so that a crash in between leaves an orphan .eml, which the sweep removes.
    await rm(join(this.dir, `${id}.json`), { force: true });
    await rm(join(this.dir, `${id}.eml`), { force: true });
    await fsyncDir(this.dir).catch(() => undefined);
  }

  /** An .eml older than an hour without its record was cut off mid-hold or mid-removal. */
  async #sweepOrphans(now: number): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return;
    }
    const records = new Set(names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)));
    for (const name of names) {
      if (!name.endsWith('.eml') || records.has(name.slice(0, -4))) continue;
      const info = await stat(join(this.dir, name)).catch(() => null);
      if (info && now - info.mtimeMs > 3600_000) await rm(join(this.dir, name), { force: true });
    }
  }

  async #enforceLimit(): Promise<void> {
    const limit = this.#context.store.get('quarantine.maxBytes');
    const all = await this.list();
    let total = all.reduce((sum, h) => sum + h.size, 0);
    for (const held of all) {
      if (total <= limit) break;
      await this.#remove(held.id);
      total -= held.size;
      this.#context.bus.emit('quarantine.deleted', { id: held.id, queueId: held.queueId, why: 'full' });
      this.#context.log.log('warn', 'quarantine full: oldest held message deleted early', { id: held.id, limit });
    }
  }
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The hook the SMTP receiver calls when a stage answers `quarantine` (ReceiveDeps.quarantine). */
/** The pipeline's quarantine (src/pipeline/run.ts): a held message or a kept copy. */
export function quarantineHook(context: Context): (message: MessageContext, reason: string, prepend: readonly string[], stage: string) => Promise<{ id: string; expiresAt: string }> {
  const quarantine = new Quarantine(context);
  return async (message, reason, prepend, stage) => {
    const held = await quarantine.hold(message, reason, prepend, stage);
    return { id: held.id, expiresAt: held.expiresAt };
  };
}
