// Factory reset, in two levels (OpenWrt's firstboot, Home Assistant OS's wipe): `settings` erases
// what makes the board this office's (configuration, users, aliases, secrets, DKIM keys,
// certificates) and keeps the mail; `all` erases the whole data partition. The request is a file
// written durably (DATA/.factory-reset) and carried out at the next start, before anything opens
// the data: a power cut in the middle only means it is carried out again. On the board the `all`
// level re-makes the partition's file system before the firmware starts
// (image/files/common/usr/lib/yubin/factory-reset); everywhere else the firmware empties the folder.
import { readFile, rm, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable, fsyncDir } from '../../src/files/durable.ts';
import { VERSIONS_DIR } from '../../src/config/migrations.ts';

export type ResetLevel = 'settings' | 'all';

export const REQUEST_FILE = '.factory-reset';

/** What each level erases, for the console's question and the README. */
export const ERASES: Record<ResetLevel, { erases: string; keeps: string }> = {
  settings: {
    erases: 'the configuration, users and their passwords, aliases, the console password, APOP secrets, DKIM keys and certificates',
    keeps: 'mailboxes, the queue, the archive and the quarantine are kept',
  },
  all: {
    erases: 'the whole data partition: everything above and every mailbox, the queue, the archive and the quarantine',
    keeps: 'nothing is kept; the firmware itself is not touched',
  },
};

/** DATA's names a settings reset removes (the rest is mail). */
const SETTINGS = ['config.json', VERSIONS_DIR, 'secrets', 'dkim', 'tls'];

export async function requestReset(dataDir: string, level: ResetLevel): Promise<void> {
  await writeFileDurable(join(dataDir, REQUEST_FILE), `${level}\n`, 0o600);
}

export async function pendingReset(dataDir: string): Promise<ResetLevel | null> {
  const text = await readFile(join(dataDir, REQUEST_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  // Anything unreadable is taken as the smaller reset: never erase mail on a doubt.
  return text.trim() === 'all' ? 'all' : 'settings';
}

/** Carry out a pending reset; returns the level done, or null when none was asked for. */
export async function applyPendingReset(dataDir: string): Promise<ResetLevel | null> {
  const level = await pendingReset(dataDir);
  if (level === null) return null;
  const names = level === 'all' ? (await readdir(dataDir)).filter((n) => n !== REQUEST_FILE) : SETTINGS;
  for (const name of names) await rm(join(dataDir, name), { recursive: true, force: true });
  await fsyncDir(dataDir);
  await unlink(join(dataDir, REQUEST_FILE));
  await fsyncDir(dataDir);
  return level;
}
