// Schema migrations of config.json: each step turns version N into N+1 and is written down in the
// file itself (db.migrations), so it runs once per board, however often the firmware starts, and
// an owner (or a support request) can see what was changed and when.
//
// Before the first step the file as it was is kept in DATA/config-versions/config.vN.json. That
// copy is what an older firmware uses when the board goes back to it: an A/B upgrade that rolls
// back (image/lib/slots.ts) boots the old slot with the data partition the new firmware already
// migrated. A file of a newer version without such a copy is refused, naming both versions.
//
// A step is frozen once released: it must do tomorrow what it did the day it shipped, so it names
// keys literally and never reads today's schema.
import { readFile, mkdir, copyFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { writeFileDurable, fsyncDir, fsyncFile } from '../files/durable.ts';

/** The config.json version this firmware writes and reads. */
export const CONFIG_VERSION = 2;

/** The folder (under DATA) of config.json as it was before each migration. */
export const VERSIONS_DIR = 'config-versions';

export interface MigrationRecord {
  from: number;
  to: number;
  /** What the step changed, in words. */
  what: string;
  /** When it ran (ISO 8601). */
  at: string;
}

export interface Step {
  /** The version the step produces (it reads to - 1). */
  readonly to: number;
  readonly what: string;
  readonly run: (db: Record<string, unknown>) => void;
}

/** Rename settings (old → new); a value already stored under the new name wins. */
function renameSettings(db: Record<string, unknown>, names: Record<string, string>): void {
  const settings = (db.settings ?? {}) as Record<string, unknown>;
  for (const [old, now] of Object.entries(names)) {
    if (!Object.hasOwn(settings, old)) continue;
    if (!Object.hasOwn(settings, now)) settings[now] = settings[old];
    delete settings[old];
  }
  db.settings = settings;
}

export const STEPS: readonly Step[] = [
  {
    to: 2,
    what: 'the POP3 lockout settings became the login brake shared by SMTP AUTH, POP3 and the console (pop3.authDelayMs → login.delayMs, pop3.userLockoutFailures → login.pairFailures, pop3.clientLockoutFailures → login.sourceFailures, pop3.lockoutSeconds → login.lockSeconds)',
    run: (db) => renameSettings(db, {
      'pop3.authDelayMs': 'login.delayMs',
      'pop3.userLockoutFailures': 'login.pairFailures',
      'pop3.clientLockoutFailures': 'login.sourceFailures',
      'pop3.lockoutSeconds': 'login.lockSeconds',
    }),
  },
];

export class MigrationError extends Error {}

/** The owner's words for a newer firmware's configuration set aside (log, console, alert). */
export const configRollbackText = (r: { from: number; to: number; keptAs: string }) =>
  `configuration written by a newer firmware (version ${r.from}) set aside as ${r.keptAs}; using the copy saved before it was migrated (version ${r.to}): settings changed since the upgrade are only in the set-aside file`;

const versionOf = (db: Record<string, unknown>): number => {
  const v = db.version;
  // Files from before versions were counted, and hand-written ones, are version 1.
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : 1;
};

/**
 * Bring a parsed config.json to `current` in memory: the steps applied are appended to
 * db.migrations and returned. Throws MigrationError for a file newer than `current`.
 */
export function migrate(db: Record<string, unknown>, options: { current?: number; steps?: readonly Step[]; now?: Date } = {}): MigrationRecord[] {
  const current = options.current ?? CONFIG_VERSION;
  const steps = options.steps ?? STEPS;
  const at = (options.now ?? new Date()).toISOString();
  let version = versionOf(db);
  if (version > current) throw new MigrationError(`written by a newer firmware (configuration version ${version}; this firmware reads up to ${current})`);
  const done: MigrationRecord[] = [];
  while (version < current) {
    const step = steps.find((s) => s.to === version + 1);
    if (!step) throw new MigrationError(`no migration from configuration version ${version} to ${version + 1}`);
    step.run(db);
    done.push({ from: version, to: step.to, what: step.what, at });
    version = step.to;
  }
  db.version = version;
  if (done.length > 0) db.migrations = [...(Array.isArray(db.migrations) ? db.migrations : []), ...done];
  return done;
}

export interface FileOutcome {
  /** Steps run now (written to the file). */
  migrated: MigrationRecord[];
  /** Set when a newer firmware's file was set aside for the copy saved before its migration. */
  rolledBack?: { from: number; to: number; keptAs: string };
}

/**
 * Make the file at `file` (already parsed as `db`) current, on disk: keep the old file in
 * config-versions/, apply the steps, write durably. A newer file is replaced by the copy the newer
 * firmware kept before migrating, when there is one (and itself kept beside it). Returns the db
 * to use and what was done; the db is unchanged and nothing is written when it was current.
 */
export async function migrateFile(file: string, db: Record<string, unknown>, options: { current?: number; steps?: readonly Step[]; now?: Date } = {}): Promise<{ db: Record<string, unknown>; outcome: FileOutcome }> {
  const current = options.current ?? CONFIG_VERSION;
  const dir = join(dirname(file), VERSIONS_DIR);
  const version = versionOf(db);
  if (version === current) return { db, outcome: { migrated: [] } };
  if (version > current) {
    const saved = join(dir, `config.v${current}.json`);
    const text = await readFile(saved, 'utf8').catch(() => null);
    if (text === null) {
      throw new MigrationError(`written by a newer firmware (configuration version ${version}; this firmware reads up to ${current}) and no copy from before that upgrade is in ${dir}: start the newer firmware again, or restore a backup made with this one`);
    }
    let older: Record<string, unknown>;
    try {
      older = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new MigrationError(`${saved}: not valid JSON (${(err as Error).message})`);
    }
    // The newer file stays, under its own version's name: nothing the owner set there is thrown away.
    // Copied first, then config.json replaced in one durable rename: a power cut at any point
    // leaves a config.json (the newer one, and this runs again at the next start, or the older).
    const keptAs = join(dir, `config.v${version}.json`);
    await copyFile(file, keptAs);
    await fsyncFile(keptAs);
    await fsyncDir(dir);
    await writeFileDurable(file, text, 0o600);
    return { db: older, outcome: { migrated: [], rolledBack: { from: version, to: current, keptAs } } };
  }
  // Each version the file passes through is kept: an older firmware of any of them can go back to it.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await copyFile(file, join(dir, `config.v${version}.json`));
  const next = structuredClone(db);
  const migrated: MigrationRecord[] = [];
  for (let v = version; v < current; v++) {
    if (v > version) await writeFileDurable(join(dir, `config.v${v}.json`), JSON.stringify(next, null, 2) + '\n', 0o600);
    migrated.push(...migrate(next, { ...options, current: v + 1 }));
  }
  await fsyncFile(join(dir, `config.v${version}.json`));
  await fsyncDir(dir);
  await writeFileDurable(file, JSON.stringify(next, null, 2) + '\n', 0o600);
  return { db: next, outcome: { migrated } };
}
