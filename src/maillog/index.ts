// The message trace's index: one JSON line per fact about a message (arrived, each check, queued,
// each recipient's outcome, quarantine), in segment files DATA/trace/<first-ms>.jsonl. A segment
// ends after a day or an eighth of trace.maxBytes; whole segments are dropped when they are older
// than trace.days or the folder is over trace.maxBytes. Written with one write(2) per fact, so
// another process (the CLI) reads every fact at once; read back by a scan that keeps only the lines
// that mention what is asked for.
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { RcptOutcome } from '../mail/outcome.ts';

export type TraceRecord =
  | { t: number; k: 'arrived'; q: string; session?: string; client: string; host?: string; helo: string; listener: string; tls?: string; user?: string; trusted: boolean; direction: string; from: string; rcpts: string[]; size: number }
  | { t: number; k: 'check'; q: string; stage: string; action: string; facts?: Readonly<Record<string, string | number | boolean>> }
  | { t: number; k: 'queued'; q: string; n: number; size: number }
  | ({ t: number; k: 'outcome'; q: string | null } & Omit<RcptOutcome, 'queueId'>)
  | { t: number; k: 'quarantine'; q: string; id: string; what: 'held' | 'released' | 'deleted'; why?: string };

export interface TraceLimits {
  days: number;
  maxBytes: number;
}

const DAY_MS = 24 * 3600_000;

export function traceFolder(dataDir: string): string {
  return join(dataDir, 'trace');
}

export class TraceIndex {
  readonly dir: string;
  readonly #limits: () => TraceLimits;
  #fd: number | undefined;
  #started = 0;
  #size = 0;
  #brokenUntil = 0;

  constructor(dir: string, limits: () => TraceLimits) {
    this.dir = dir;
    this.#limits = limits;
  }

  /** Write one fact; a full disk drops it (the trace is a help, mail never waits for it). */
  append(record: TraceRecord): void {
    const now = record.t;
    if (this.#brokenUntil > now) return;
    const line = Buffer.from(JSON.stringify(record) + '\n');
    try {
      const { maxBytes } = this.#limits();
      if (this.#fd === undefined || now - this.#started >= DAY_MS || this.#size + line.length > maxBytes / 8) this.#newSegment(now);
      writeSync(this.#fd!, line);
      this.#size += line.length;
    } catch {
      this.#brokenUntil = now + 10_000;
    }
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #newSegment(now: number): void {
    this.close();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.#prune(now);
    this.#fd = openSync(join(this.dir, `${now}.jsonl`), 'a', 0o600);
    this.#started = now;
    this.#size = 0;
  }

  /** Drop segments older than trace.days, then the oldest while over trace.maxBytes. */
  #prune(now: number): void {
    const { days, maxBytes } = this.#limits();
    const segments = readdirSync(this.dir)
      .filter((n) => /^\d+\.jsonl$/.test(n))
      .map((n) => {
        const s = statSync(join(this.dir, n), { throwIfNoEntry: false });
        return { name: n, bytes: s?.size ?? 0, last: s?.mtimeMs ?? 0 };
      })
      .sort((a, b) => Number.parseInt(a.name) - Number.parseInt(b.name));
    let total = segments.reduce((sum, s) => sum + s.bytes, 0);
    for (const s of segments) {
      // Room for the new segment: at most maxBytes in all, counting what it may grow to.
      if (now - s.last <= days * DAY_MS && total + maxBytes / 8 <= maxBytes) continue;
      rmSync(join(this.dir, s.name), { force: true });
      total -= s.bytes;
    }
  }
}

/** Every record of the index whose line contains one of `needles` (case-insensitive), oldest first. */
export async function scanTrace(dir: string, needles: readonly string[], since = 0): Promise<TraceRecord[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /^\d+\.jsonl$/.test(n)).sort((a, b) => Number.parseInt(a) - Number.parseInt(b));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const wanted = needles.map((n) => n.toLowerCase());
  const out: TraceRecord[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => null);
    if (!info || info.mtimeMs < since) continue;
    const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      const lower = line.toLowerCase();
      if (!wanted.some((w) => lower.includes(w))) continue;
      try {
        const record = JSON.parse(line) as TraceRecord;
        if (record.t >= since) out.push(record);
      } catch {
        // A line cut by a crash: skip it.
      }
    }
  }
  return out.sort((a, b) => a.t - b.t);
}
