// The spool: accepted mail as plain files, durable before we say "250 queued".
//
//   spool/tmp/ID.eml     being received; never acknowledged; deleted on recovery
//   spool/queue/ID.eml   message bytes (our Received header first, CRLF lines)
//   spool/queue/ID.json  envelope + recipient states; written last (temp, fsync, rename, fsync dir)
//
// Commit order: fsync the message, rename it into queue/, write the JSON durably. A message file in
// queue/ without its JSON was never acknowledged (crash mid-commit) and is removed on recovery.
// The JSON is removed before the message file when every recipient is done.
import { mkdir, rename, unlink, readdir, readFile, writeFile, open, type FileHandle } from 'node:fs/promises';
import { randomHex } from '../files/random-hex.ts';
import type { WriteStream } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurable, syncDirShared } from '../files/durable.ts';
import { isQueueId } from './queue-id.ts';
import { GroupCommit } from './group-commit.ts';
import type { QueueEntry } from './entry.ts';

export class Spool {
  readonly root: string;
  readonly tmpDir: string;
  readonly queueDir: string;
  #group: GroupCommit | null = null;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'spool');
    this.tmpDir = join(this.root, 'tmp');
    this.queueDir = join(this.root, 'queue');
  }

  async init(): Promise<void> {
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    await mkdir(this.queueDir, { recursive: true, mode: 0o700 });
  }

  tmpPath(id: string): string {
    return join(this.tmpDir, `${id}.eml`);
  }

  messagePath(id: string): string {
    return join(this.queueDir, `${id}.eml`);
  }

  entryPath(id: string): string {
    return join(this.queueDir, `${id}.json`);
  }

  /** A new incoming message in tmp/ (exclusive create). */
  async create(id: string): Promise<IncomingFile> {
    const path = this.tmpPath(id);
    return new IncomingFile(path, await open(path, 'wx', 0o600));
  }

  /** Move a received, fsync'd message into the queue and write its entry durably. */
  async commit(entry: QueueEntry, messageFile = this.tmpPath(entry.id)): Promise<void> {
    await rename(messageFile, this.messagePath(entry.id));
    try {
      await writeFileDurable(this.entryPath(entry.id), JSON.stringify(entry), 0o600, { dirExists: true });
    } catch (err) {
      // Not acknowledged (the client hears 452/451): drop the message file now rather than at the
      // next recovery, or a full disk stays full of messages nobody will deliver.
      await unlink(this.messagePath(entry.id)).catch(ignoreMissing);
      throw err;
    }
  }

  /**
   * Like commit(), for a message file not yet fsync'd, sharing one round of fsyncs with the other
   * messages that arrive within `windowMs` (spool.groupCommitMs). Same order: file and entry
   * durable, then renamed into queue/, then queue/ fsync'd; resolves only when all of it is.
   */
  async commitGrouped(entry: QueueEntry, messageFile: string, windowMs: number): Promise<void> {
    const entryTmp = join(this.queueDir, `.${entry.id}.json.${randomHex(4)}.tmp`);
    await writeFile(entryTmp, JSON.stringify(entry), { mode: 0o600, flag: 'wx' });
    this.#group ??= new GroupCommit(this.queueDir);
    try {
      await this.#group.submit(
        {
          sync: [messageFile, entryTmp],
          renames: [
            [messageFile, this.messagePath(entry.id)],
            [entryTmp, this.entryPath(entry.id)],
          ],
        },
        windowMs,
      );
    } catch (err) {
      await unlink(entryTmp).catch(() => undefined);
      throw err;
    }
  }

  /** Rewrite an entry (recipient state changed). Durable: a crash leaves the old or the new. */
  async save(entry: QueueEntry): Promise<void> {
    await writeFileDurable(this.entryPath(entry.id), JSON.stringify(entry), 0o600, { dirExists: true });
  }

  /** Every recipient is done: drop the entry, then the message. */
  async remove(id: string): Promise<void> {
    await unlink(this.entryPath(id)).catch(ignoreMissing);
    await unlink(this.messagePath(id)).catch(ignoreMissing);
    await this.syncQueueDir();
  }

  async discardTmp(id: string): Promise<void> {
    await unlink(this.tmpPath(id)).catch(ignoreMissing);
  }

  async load(id: string): Promise<QueueEntry> {
    return JSON.parse(await readFile(this.entryPath(id), 'utf8')) as QueueEntry;
  }


  /**
   * After a crash: drop what was never acknowledged (tmp files, message files without an entry)
   * and return the IDs of every queued entry, oldest first.
   */
  async recover(): Promise<string[]> {
    await this.init();
    for (const f of await readdir(this.tmpDir)) await unlink(join(this.tmpDir, f)).catch(ignoreMissing);
    const files = await readdir(this.queueDir);
    const entries = new Set(files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)));
    for (const f of files) {
      if (f.endsWith('.eml') && !entries.has(f.slice(0, -4))) await unlink(join(this.queueDir, f)).catch(ignoreMissing);
      // Leftover temp files of writeFileDurable (crash between write and rename).
      if (f.startsWith('.') && f.endsWith('.tmp')) await unlink(join(this.queueDir, f)).catch(ignoreMissing);
    }
    return [...entries].filter(isQueueId).sort();
  }

  /** The queue folder's fsync after removals, shared with concurrent commits. */
  syncQueueDir(): Promise<void> {
    return syncDirShared(this.queueDir);
  }
}

/**
 * A message being received into tmp/. The bytes are written, fsync'd and closed through the one
 * descriptor: reopening the file to fsync it cost two more system calls per message.
 */
export class IncomingFile {
  readonly path: string;
  readonly stream: WriteStream;
  readonly #handle: FileHandle;
  #closed = false;

  constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
    // autoClose off: the descriptor outlives the stream's end, for the fsync.
    this.stream = handle.createWriteStream({ autoClose: false, highWaterMark: 64 * 1024 }) as unknown as WriteStream;
  }

  /** After the stream has finished: make the bytes durable (unless a group commit will) and close. */
  async finish(sync: boolean): Promise<void> {
    try {
      if (sync) await this.#handle.sync();
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // The stream holds a reference on the handle until it is destroyed: close() would wait forever.
    if (!this.stream.closed) {
      const closed = new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
      this.stream.destroy();
      await closed;
    }
    await this.#handle.close();
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
