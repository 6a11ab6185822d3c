// Maildir (https://cr.yp.to/proto/maildir.html), shared by local delivery (writer) and POP3 (reader).
// Files are stored exactly as received over SMTP, with CRLF line ends, so a POP3 octet count is the
// file size. Names carry ",S=<bytes>" (as Dovecot does) so quota and STAT need no reads.
import { mkdir, open, rename, unlink, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { randomHex } from '../files/random-hex.ts';
import { syncDirShared } from '../files/durable.ts';

export const SUBDIRS = ['tmp', 'new', 'cur'] as const;

/** The Maildir of a local user under the data folder. */
export function maildirOf(dataDir: string, user: string): string {
  return join(dataDir, 'mail', user.toLowerCase());
}

export async function ensureMaildir(root: string): Promise<void> {
  for (const sub of SUBDIRS) await mkdir(join(root, sub), { recursive: true, mode: 0o700 });
}

let counter = 0;

/** A unique base name per the Maildir spec: time, then what makes it unique on this host, then host. */
export function uniqueName(host: string): string {
  // Seconds and microseconds from the same wall-clock reading: process.hrtime's microseconds are not
  // aligned to the second, so two deliveries in one second could sort (and be numbered) backwards.
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const sec = Math.floor(micros / 1_000_000);
  const usec = micros % 1_000_000;
  counter = (counter + 1) % 1_000_000;
  // '/' and ':' are not allowed in host part (spec); replace them.
  const safeHost = host.replace(/\//g, '\\057').replace(/:/g, '\\072');
  return `${sec}.M${usec}P${process.pid}Q${counter}R${randomHex(4)}.${safeHost}`;
}

export interface MaildirEntry {
  /** File name in new/ or cur/. */
  file: string;
  /** Folder the file is in. */
  dir: 'new' | 'cur';
  /** Unique base name (before ",S=" and ":2,"): stable, so POP3 UIDL derives from it. */
  base: string;
  /** Size in bytes (from the name when present, else from stat). */
  size: number;
}

export function parseName(file: string): { base: string; size: number | null } {
  const colon = file.indexOf(':');
  const noFlags = colon >= 0 ? file.slice(0, colon) : file;
  const m = /,S=(\d+)/.exec(noFlags);
  const base = noFlags.split(',')[0] ?? noFlags;
  return { base, size: m ? Number(m[1]) : null };
}

// Digit runs compare as numbers: the microseconds in "M<usec>" are not zero-padded (here or in
// Dovecot's names), so plain string order would put M96919 after M129838 of the same second.
// Made at first use: a collator loads ~3 MiB of ICU data, which an idle board need not hold.
let nameOrder: Intl.Collator | undefined;

/** Messages in new/ and cur/, oldest first (by name: names start with the delivery time). */
export async function listMessages(root: string): Promise<MaildirEntry[]> {
  const out: MaildirEntry[] = [];
  for (const dir of ['new', 'cur'] as const) {
    let files: string[];
    try {
      files = await readdir(join(root, dir));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    for (const file of files) {
      if (file.startsWith('.')) continue;
      const { base, size } = parseName(file);
      out.push({ file, dir, base, size: size ?? (await stat(join(root, dir, file))).size });
    }
  }
  const order = (nameOrder ??= new Intl.Collator('en', { numeric: true }));
  return out.sort((a, b) => order.compare(a.base, b.base));
}

/** Bytes in the mailbox, for quota. */
export async function usage(root: string): Promise<number> {
  let total = 0;
  for (const m of await listMessages(root)) total += m.size;
  return total;
}

/** Whether a message with this unique base name is already in the mailbox (idempotent redelivery). */
export async function hasMessage(root: string, base: string): Promise<boolean> {
  for (const dir of ['new', 'cur']) {
    let files: string[];
    try {
      files = await readdir(join(root, dir));
    } catch {
      continue;
    }
    if (files.some((f) => f === base || f.startsWith(base + ',') || f.startsWith(base + ':'))) return true;
  }
  return false;
}

/** Maildirs known to exist: making the three folders again costs three calls per delivery. */
const made = new Set<string>();

async function openInTmp(root: string, tmpPath: string): Promise<FileHandle> {
  if (!made.has(root)) {
    await ensureMaildir(root);
    made.add(root);
  }
  try {
    return await open(tmpPath, 'w', 0o600);
  } catch (err) {
    // Removed meanwhile (a user deleted and added again): make it again.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    made.delete(root);
    await ensureMaildir(root);
    made.add(root);
    return await open(tmpPath, 'w', 0o600);
  }
}

/**
 * Deliver: write into tmp/, fsync, rename into new/ (atomic: the message is in tmp/ or in new/,
 * never half; Dovecot renames too, the spec's link-then-unlink is for NFS), fsync new/.
 * `write` receives the open file and must write the whole message.
 */
export async function deliver(
  root: string,
  base: string,
  write: (file: import('node:fs/promises').FileHandle) => Promise<void>,
): Promise<string> {
  const tmpPath = join(root, 'tmp', base);
  const handle = await openInTmp(root, tmpPath);
  let size: number;
  try {
    await write(handle);
    await handle.sync();
    size = (await handle.stat()).size;
  } catch (err) {
    await handle.close();
    await unlink(tmpPath).catch(() => undefined);
    throw err;
  }
  await handle.close();
  const name = `${base},S=${size}`;
  await rename(tmpPath, join(root, 'new', name));
  // Concurrent deliveries into one mailbox share the folder's fsync.
  await syncDirShared(join(root, 'new'));
  return name;
}
