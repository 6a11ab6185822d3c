// The day's DMARC rows: one JSON line per inbound message whose author domain asks for reports,
// in DATA/dmarc/rows/YYYY-MM-DD.jsonl (UTC days, RFC 9990 §3). A day's file is sent once the day
// is over and then renamed .sent; sent days older than a week are removed.
import { appendFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DmarcEvaluated } from '../events/bus.ts';

export const rowsDir = (dataDir: string) => join(dataDir, 'dmarc', 'rows');
export const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export class RowStore {
  readonly #dir: string;
  #counts = new Map<string, number>();
  #chain: Promise<void> = Promise.resolve();

  constructor(dataDir: string) {
    this.#dir = rowsDir(dataDir);
  }

  /** Append one row to its day's file (in order, one write at a time); false when the day is full. */
  append(row: DmarcEvaluated, maxRows: number): Promise<boolean> {
    const day = utcDay(row.at);
    const run = this.#chain.then(async () => {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      const file = join(this.#dir, `${day}.jsonl`);
      let n = this.#counts.get(day);
      if (n === undefined) n = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
      if (n >= maxRows) return false;
      await appendFile(file, JSON.stringify(row) + '\n', { mode: 0o600 });
      this.#counts.set(day, n + 1);
      return true;
    });
    this.#chain = run.then(() => undefined, () => undefined);
    return run;
  }

  /** Days before `today` whose rows have not been sent yet, oldest first. */
  async unsentBefore(today: string): Promise<string[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    return names.filter((n) => /^\d{4}-\d{2}-\d{2}\.jsonl$/.test(n)).map((n) => n.slice(0, 10)).filter((d) => d < today).sort();
  }

  async read(day: string): Promise<DmarcEvaluated[]> {
    const text = await readFile(join(this.#dir, `${day}.jsonl`), 'utf8');
    return text.split('\n').filter(Boolean).flatMap((line) => {
      try {
        return [JSON.parse(line) as DmarcEvaluated];
      } catch {
        return []; // a line cut by a power failure
      }
    });
  }

  async markSent(day: string, now = Date.now()): Promise<void> {
    await rename(join(this.#dir, `${day}.jsonl`), join(this.#dir, `${day}.jsonl.sent`));
    this.#counts.delete(day);
    for (const name of await readdir(this.#dir).catch(() => [] as string[])) {
      if (!name.endsWith('.sent')) continue;
      const s = await stat(join(this.#dir, name)).catch(() => null);
      if (s && now - s.mtimeMs > 7 * 86_400_000) await rm(join(this.#dir, name), { force: true });
    }
  }
}
