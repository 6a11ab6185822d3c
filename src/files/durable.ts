// Durable small-file writes: lowdb's own adapter renames without fsync, so a power cut can
// leave an empty file. We write a temp file, fsync it, rename it over the old one, then fsync
// the folder so the rename itself is on disk. Readers see the old file or the new, never half.
import { open, rename, mkdir, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomHex } from './random-hex.ts';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// Many renames into one folder at once (20 sessions committing) need not fsync it 20 times: a
// caller waits for an fsync that *started after* its own rename, and every caller that arrives
// while one is running shares the next. Durable as before, with one fsync per wave.
const dirSyncs = new Map<string, { running: Promise<void> | null; next: Promise<void> | null }>();

/** fsync `dir` after the caller's changes in it, sharing the fsync with concurrent callers. */
export function syncDirShared(dir: string): Promise<void> {
  let state = dirSyncs.get(dir);
  if (!state) {
    state = { running: null, next: null };
    dirSyncs.set(dir, state);
  }
  const s = state;
  if (!s.running) {
    s.running = fsyncDir(dir).finally(() => {
      s.running = null;
      if (!s.next) dirSyncs.delete(dir);
    });
    return s.running;
  }
  // The one running may have started before our change: wait for the next, which starts after it.
  s.next ??= s.running
    .catch(() => undefined)
    .then(() => {
      s.next = null;
      return syncDirShared(dir);
    });
  return s.next;
}

/** fsync a file by path (any descriptor of the file flushes its data on Linux). */
export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function writeFileDurable(path: string, data: string | Uint8Array, mode = 0o600, options: { dirExists?: boolean } = {}): Promise<void> {
  const dir = dirname(path);
  // A folder made here is private, like every data folder (DATA/secrets was made 0755).
  if (!options.dirExists) await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomHex(4)}.tmp`);
  const handle = await open(tmp, 'w', mode);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    // A full disk (ENOSPC) must not also keep the half-written temp file, holding the space.
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDirShared(dir);
}

/**
 * Write all of `bytes` at `position` (or at the file's own position). A nearly full disk answers
 * with a short write before ENOSPC: ignoring its count put truncated messages into mailboxes.
 */
export async function writeAll(file: FileHandle, bytes: Uint8Array, position: number | null = null): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position === null ? null : position + done);
    if (bytesWritten === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}
