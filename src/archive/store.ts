// The archive of sent (and, when enabled, received) mail, kept apart from the live queue:
//
//   archive/YYYY-MM-DD/<ms>-<queueID>.eml    the message as accepted (a hard link when possible)
//   archive/YYYY-MM-DD/<ms>-<queueID>.json   envelope facts for search
//
// Day folders are UTC. Bounded by archive.maxBytes and archive.maxAgeDays: the oldest copies go first.
import { mkdir, link, copyFile, readdir, readFile, stat, unlink, rm, rename } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileDurable } from '../files/durable.ts';
import { headerOf } from '../bounce/dsn.ts';
import type { Direction } from '../mail/types.ts';
import type { FileHead } from '../mail/types.ts';

export interface ArchivedMeta {
  id: string;
  /** Epoch ms of acceptance. */
  date: number;
  direction: Direction;
  from: string;
  to: string[];
  subject: string;
  /** Bytes as it leaves: the header fields below, then the file. */
  size: number;
  /** The header fields the content checks added (Authentication-Results, DKIM-Signature…), which
   * go in front of the stored file when it leaves: the archive holds what really left. */
  prepend?: string[];
}

export interface ArchiveQuery {
  /** Substring of the envelope sender (case-insensitive). */
  from?: string;
  /** Substring of any envelope recipient (case-insensitive). */
  to?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
}

export interface ArchiveLimits {
  maxBytes: number;
  maxAgeDays: number;
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export class Archive {
  readonly root: string;
  /** Bytes per day folder; null until the first scan. */
  #days: Promise<Map<string, number>> | null = null;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string) {
    this.root = join(dataDir, 'archive');
  }

  /**
   * Keep a copy of a message file; then drop what the limits no longer allow. Copies of concurrent
   * messages are written side by side (their folder fsyncs shared): only the pruning, which reads
   * and rewrites the day totals across awaits, runs one at a time. Serialising every copy made 20
   * sessions of an office's outbound mail wait in one line of two fsyncs each (0.67× the inbound rate).
   */
  async add(meta: ArchivedMeta, messagePath: string, limits: ArchiveLimits): Promise<void> {
    const days = await this.#scan(); // before the new file exists, so it is counted once
    const day = dayOf(meta.date);
    const dir = join(this.root, day);
    if (!days.has(day)) await mkdir(dir, { recursive: true, mode: 0o700 });
    const base = `${String(meta.date).padStart(14, '0')}-${meta.id}`;
    const target = join(dir, `${base}.eml`);
    try {
      await link(messagePath, target).catch(async (err: NodeJS.ErrnoException) => {
        // The day's folder is gone (removed from another process, e.g. the CLI): make it again.
        if (err.code !== 'ENOENT') throw err;
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await link(messagePath, target);
      }); // the spool never rewrites a file, so sharing the inode is safe
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EEXIST') throw err;
      const tmp = join(dir, `.${base}.${randomBytes(3).toString('hex')}.tmp`);
      await copyFile(messagePath, tmp);
      await rename(tmp, target);
    }
    // Its folder fsync also makes the link above durable.
    await writeFileDurable(join(dir, `${base}.json`), JSON.stringify(meta), 0o600, { dirExists: true });
    days.set(day, (days.get(day) ?? 0) + meta.size);
    if (!this.#overLimits(days, limits, meta.date)) return;
    const run = this.#chain.then(() => this.#prune(limits, meta.date));
    this.#chain = run.catch(() => undefined);
    await run;
  }

  /** Whether a day is past the age limit or the total past the size cap (nothing to prune otherwise). */
  #overLimits(days: Map<string, number>, limits: ArchiveLimits, now: number): boolean {
    const oldestKept = dayOf(now - limits.maxAgeDays * 86_400_000);
    let total = 0;
    for (const [day, bytes] of days) {
      if (day < oldestKept) return true;
      total += bytes;
    }
    return total > limits.maxBytes;
  }

  /** Matching copies, oldest first, read folder by folder (never all at once). */
  async *search(query: ArchiveQuery = {}): AsyncGenerator<ArchivedMeta & { path: string }> {
    const from = query.from?.toLowerCase();
    const to = query.to?.toLowerCase();
    const firstDay = query.since !== undefined ? dayOf(query.since) : '';
    const lastDay = query.until !== undefined ? dayOf(query.until) : '9999';
    for (const day of await this.#dayFolders()) {
      if (day < firstDay || day > lastDay) continue;
      const dir = join(this.root, day);
      const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json') && !f.startsWith('.')).sort();
      for (const f of files) {
        let meta: ArchivedMeta;
        try {
          meta = JSON.parse(await readFile(join(dir, f), 'utf8')) as ArchivedMeta;
        } catch {
          continue; // dropped meanwhile by the limits
        }
        if (query.since !== undefined && meta.date < query.since) continue;
        if (query.until !== undefined && meta.date >= query.until) continue;
        if (from !== undefined && !meta.from.toLowerCase().includes(from)) continue;
        if (to !== undefined && !meta.to.some((r) => r.toLowerCase().includes(to))) continue;
        yield { ...meta, path: join(dir, f.slice(0, -5) + '.eml') };
      }
    }
  }

  /** Bytes held, per the day totals. */
  async totalBytes(): Promise<number> {
    let total = 0;
    for (const n of (await this.#scan()).values()) total += n;
    return total;
  }

  async #dayFolders(): Promise<string[]> {
    try {
      return (await readdir(this.root)).filter((d) => DAY_RE.test(d)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** The day totals, read from the folders once (concurrent first callers share the one scan). */
  #scan(): Promise<Map<string, number>> {
    if (!this.#days) {
      const scanning = (async () => {
        const days = new Map<string, number>();
        for (const day of await this.#dayFolders()) days.set(day, await this.#dayBytes(day));
        return days;
      })();
      // A failed scan is tried again by the next caller.
      scanning.catch(() => { if (this.#days === scanning) this.#days = null; });
      this.#days = scanning;
    }
    return this.#days;
  }

  async #dayBytes(day: string): Promise<number> {
    let total = 0;
    const dir = join(this.root, day);
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      if (f.endsWith('.eml')) total += (await stat(join(dir, f)).catch(() => ({ size: 0 }))).size;
    }
    return total;
  }

  /** Drop day folders past the age limit, then the oldest copies until under the size cap. */
  async #prune(limits: ArchiveLimits, now: number): Promise<void> {
    const days = await this.#scan();
    const oldestKept = dayOf(now - limits.maxAgeDays * 86_400_000);
    for (const day of [...days.keys()].sort()) {
      if (day >= oldestKept) break;
      await rm(join(this.root, day), { recursive: true, force: true });
      days.delete(day);
    }
    let total = [...days.values()].reduce((a, b) => a + b, 0);
    for (const day of [...days.keys()].sort()) {
      if (total <= limits.maxBytes) break;
      const dir = join(this.root, day);
      const names = (await readdir(dir)).filter((f) => f.endsWith('.eml')).sort();
      let removed = 0;
      for (const f of names) {
        if (total <= limits.maxBytes) break;
        const size = (await stat(join(dir, f))).size;
        await unlink(join(dir, f.slice(0, -4) + '.json')).catch(() => undefined); // meta first: search never finds a half
        await unlink(join(dir, f));
        total -= size;
        removed += size;
      }
      // Subtracted, not overwritten: copies added meanwhile (add() does not wait for pruning) count.
      days.set(day, (days.get(day) ?? 0) - removed);
      // Today's folder stays even when emptied: a copy may be being linked into it right now.
      if (day < dayOf(now) && !(await readdir(dir)).some((f) => f.endsWith('.eml'))) {
        await rm(dir, { recursive: true, force: true });
        days.delete(day);
      }
    }
  }
}

/** The Subject of a message file (first 64 KiB of header), unfolded; '' when none. */
export async function subjectOf(path: string, head?: FileHead): Promise<string> {
  const source = head ? Readable.from([head.bytes]) : createReadStream(path, { end: 64 * 1024 });
  const header = (await headerOf(source, 64 * 1024)).toString('utf8');
  const m = /^Subject:[ \t]*(.*(?:\r\n[ \t].*)*)/im.exec(header);
  return m ? m[1]!.replace(/\r\n[ \t]/g, ' ').slice(0, 300) : '';
}
