// Group commit: messages that reach the end of DATA within one short window share a round of
// fsyncs. Each file is still fsync'd, but side by side, so the file system's journal commits them
// together (ext4 batches concurrent fsyncs into one transaction), and the queue folder is fsync'd
// once for every rename of the round instead of once per message. A job's promise settles only
// after its files and its renames are durable, so "250 queued" still means on disk.
import { rename } from 'node:fs/promises';
import { syncDirShared, fsyncFile } from '../files/durable.ts';

export interface CommitJob {
  /** Files whose bytes must be durable before they are renamed. */
  sync: readonly string[];
  /** Renames into the committed folder, in order, after every file of the job is durable. */
  renames: ReadonlyArray<readonly [from: string, to: string]>;
}

interface Waiting {
  job: CommitJob;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** At most this many jobs share a round: bounds the fsyncs in flight and the round's latency. */
export const MAX_ROUND = 128;

export class GroupCommit {
  readonly #dir: string;
  #waiting: Waiting[] = [];
  #timer: NodeJS.Timeout | null = null;

  /** `dir`: the folder every rename lands in, fsync'd once per round. */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Commit a job in the round that starts within `windowMs` (the first job of a round sets it). */
  submit(job: CommitJob, windowMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ job, resolve, reject });
      if (this.#waiting.length >= MAX_ROUND) this.#startRound();
      else this.#timer ??= setTimeout(() => this.#startRound(), windowMs);
    });
  }

  #startRound(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const round = this.#waiting.splice(0, MAX_ROUND);
    if (this.#waiting.length > 0) this.#timer = setTimeout(() => this.#startRound(), 0);
    void this.#run(round);
  }

  async #run(round: Waiting[]): Promise<void> {
    const done = await Promise.allSettled(
      round.map(async ({ job }) => {
        await Promise.all(job.sync.map(fsyncFile));
        for (const [from, to] of job.renames) await rename(from, to);
      }),
    );
    const renamed = round.filter((_, i) => done[i]!.status === 'fulfilled');
    let dirError: unknown = null;
    if (renamed.length > 0) await syncDirShared(this.#dir).catch((err: unknown) => (dirError = err));
    round.forEach((w, i) => {
      const outcome = done[i]!;
      if (outcome.status === 'rejected') w.reject(outcome.reason);
      else if (dirError) w.reject(dirError);
      else w.resolve();
    });
  }
}
