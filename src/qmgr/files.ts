// What the queue looks like on disk, for the queue manager's rescan and the admin commands (which
// may run in another process than the queue manager).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isQueueId } from '../spool/queue-id.ts';
import type { Spool } from '../spool/spool.ts';

/** IDs of every committed entry, oldest first. */
export async function queuedIds(spool: Spool): Promise<string[]> {
  let files: string[];
  try {
    files = await readdir(spool.queueDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return files.filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).filter(isQueueId).sort();
}

/** A file whose presence asks the running queue manager to try every entry now (yubin queue flush). */
export function flushRequestPath(spool: Spool): string {
  return join(spool.root, 'flush-request');
}
