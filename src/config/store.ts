// Configuration and small state (users, aliases) in one lowdb JSON file under the data folder.
// Mail itself never goes here: spool and Maildir are plain files.
// Changes are staged, validated key by key, and committed durably (see durable.ts);
// a bad value is refused with an error naming the key, and the committed file stays as it was.
// Whoever changed the file (this process, the CLI in another, an editor), onChange hears once
// which keys changed: every new set of settings is adopted in one place and compared with the last.
import { Low } from 'lowdb';
import { readFile, mkdir } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { join, dirname, basename } from 'node:path';
import { writeFileDurable } from '../files/durable.ts';
import { schema, defaults, isSettingKey, type Settings, type SettingKey } from './schema.ts';
import { migrateFile, MigrationError, CONFIG_VERSION, type MigrationRecord, type FileOutcome } from './migrations.ts';

export interface UserRecord {
  /** scrypt hash in the form scrypt$N$r$p$salt$hash (base64). */
  passwordHash: string;
  /** Extra addresses beyond name@<each local domain>. */
  addresses: string[];
  /** Mailbox quota in bytes; absent means mailbox.defaultQuota. */
  quota?: number;
  /** Whether APOP logins are allowed (the secret itself lives in secrets/apop.json). */
  apop: boolean;
}

export interface Db {
  /** The schema version (src/config/migrations.ts). */
  version: number;
  /** Migrations this file went through, oldest first. */
  migrations?: MigrationRecord[];
  settings: Partial<Record<string, unknown>>;
  users: Record<string, UserRecord>;
  /** alias local part or full address → targets (local users or addresses). */
  aliases: Record<string, string[]>;
}

export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`${key}: ${message}`);
    this.key = key;
  }
}

/** lowdb adapter whose writes survive a power cut (lowdb's own never fsyncs). */
class DurableJsonFile {
  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }
  async read(): Promise<Db | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      return JSON.parse(text) as Db;
    } catch (err) {
      throw new ConfigError(this.file, `not valid JSON (${(err as Error).message})`);
    }
  }
  async write(data: Db): Promise<void> {
    await writeFileDurable(this.file, JSON.stringify(data, null, 2) + '\n', 0o600);
  }
}

function emptyDb(): Db {
  return { version: CONFIG_VERSION, settings: {}, users: {}, aliases: {} };
}

/** Parse admin text for one key; throws ConfigError naming the key and the allowed values. */
export function parseSetting(key: string, text: string): unknown {
  if (!isSettingKey(key)) throw new ConfigError(key, `unknown key (see 'yubin config show --doc' for the list)`);
  try {
    return schema[key].kind.parse(text);
  } catch (err) {
    throw new ConfigError(key, `${JSON.stringify(text)} is not allowed: expected ${(err as Error).message}`);
  }
}

/** Check every stored setting; returns one message per bad key. */
export function validateSettings(stored: Partial<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(stored)) {
    if (!isSettingKey(key)) {
      problems.push(`${key}: unknown key`);
      continue;
    }
    const wrong = schema[key].kind.check(value);
    if (wrong !== null) problems.push(`${key}: ${JSON.stringify(value)} is not allowed: expected ${wrong}`);
  }
  return problems;
}

/** Settings whose committed value changed (compared as JSON), in schema order. */
function changedKeys(before: Readonly<Settings>, after: Readonly<Settings>): SettingKey[] {
  return (Object.keys(schema) as SettingKey[]).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
}

export class ConfigStore {
  readonly file: string;
  readonly dataDir: string;
  readonly #file: DurableJsonFile;
  readonly #low: Low<Db>;
  #staged = new Map<SettingKey, unknown>();
  #settings: Settings = defaults();
  #watcher: FSWatcher | undefined;
  #writing: Promise<unknown> = Promise.resolve();
  readonly #changeListeners = new Set<(keys: SettingKey[]) => void>();
  readonly #migrations: FileOutcome[] = [];

  private constructor(dataDir: string, file: string) {
    this.dataDir = dataDir;
    this.file = file;
    this.#file = new DurableJsonFile(file);
    this.#low = new Low<Db>(this.#file, emptyDb());
  }

  /** Open (creating if absent) the store; refuses to start on a broken file, naming the keys. */
  static async open(dataDir: string, file = join(dataDir, 'config.json')): Promise<ConfigStore> {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const store = new ConfigStore(dataDir, file);
    await store.reload();
    return store;
  }

  /** Re-read the file (another process — the CLI — may have committed a change). A broken file
   * is refused whole: settings, users and aliases stay as they were. */
  async reload(): Promise<void> {
    let db = (await this.#file.read()) ?? emptyDb();
    if (db.version !== CONFIG_VERSION) {
      try {
        const { db: current, outcome } = await migrateFile(this.file, db as unknown as Record<string, unknown>);
        db = current as unknown as Db;
        if (outcome.migrated.length > 0 || outcome.rolledBack) this.#migrations.push(outcome);
      } catch (err) {
        if (err instanceof MigrationError) throw new ConfigError(this.file, err.message);
        throw err;
      }
    }
    db.settings ??= {};
    db.users ??= {};
    db.aliases ??= {};
    const problems = validateSettings(db.settings);
    if (problems.length > 0) throw new ConfigError(this.file, `invalid configuration:\n  ${problems.join('\n  ')}`);
    this.#adopt(db);
  }

  /** The one place a new db becomes current; tells onChange listeners which settings changed. */
  #adopt(db: Db): void {
    const before = this.#settings;
    this.#low.data = db;
    this.#settings = { ...defaults(), ...(db.settings as Partial<Settings>) };
    const keys = changedKeys(before, this.#settings);
    if (keys.length === 0) return;
    for (const listener of this.#changeListeners) {
      try {
        listener(keys);
      } catch (err) {
        // The commit is on disk whatever a listener does; the firmware's listener is the guarded bus.
        process.emitWarning(`config change listener failed: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Hear of every change of committed settings: once per change, with exactly the keys whose value
   * changed, whether this process committed it or another process (the CLI) or an editor did and
   * the file watcher (watch) saw it.
   */
  onChange(listener: (keys: SettingKey[]) => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** What migrating config.json did since this store was opened (the start-up log and alert read it). */
  get migrations(): readonly FileOutcome[] {
    return this.#migrations;
  }

  get settings(): Readonly<Settings> {
    return this.#settings;
  }

  get<K extends SettingKey>(key: K): Settings[K] {
    return this.#settings[key];
  }

  get db(): Readonly<Db> {
    return this.#low.data;
  }

  /** Stage a change typed by an admin; nothing is written until commit(). */
  stage(key: string, text: string): void {
    const value = parseSetting(key, text);
    this.#staged.set(key as SettingKey, value);
  }

  /** Stage an already-typed value (checked the same way). */
  stageValue(key: string, value: unknown): void {
    if (!isSettingKey(key)) throw new ConfigError(key, 'unknown key');
    const wrong = schema[key].kind.check(value);
    if (wrong !== null) throw new ConfigError(key, `${JSON.stringify(value)} is not allowed: expected ${wrong}`);
    this.#staged.set(key, value);
  }

  staged(): ReadonlyMap<string, unknown> {
    return this.#staged;
  }

  discard(): void {
    this.#staged.clear();
  }

  /** Write staged settings durably. Returns the keys that changed. */
  async commit(): Promise<string[]> {
    const changes = new Map(this.#staged);
    this.#staged.clear();
    await this.update((db) => {
      for (const [key, value] of changes) {
        if (JSON.stringify(value) === JSON.stringify(schema[key].default)) delete db.settings[key];
        else db.settings[key] = value;
      }
    });
    return [...changes.keys()];
  }

  /** Convenience for the CLI: parse, stage and commit one key. */
  async set(key: string, text: string): Promise<void> {
    const value = parseSetting(key, text);
    this.#staged.set(key as SettingKey, value);
    await this.commit();
  }

  /**
   * Read-modify-write of the whole db, serialised in this process and re-reading the file first
   * so that a change made meanwhile by another process (the CLI) is kept.
   */
  async update(change: (db: Db) => void): Promise<void> {
    await this.#serial(async () => {
      await this.reload();
      const next = structuredClone(this.#low.data);
      change(next);
      const problems = validateSettings(next.settings);
      if (problems.length > 0) throw new ConfigError(problems[0]!.split(':')[0]!, problems.join('; '));
      await this.#file.write(next);
      this.#adopt(next);
    });
  }

  /** Writes and re-reads run one at a time in this process. */
  #serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.#writing.then(job);
    this.#writing = run.catch(() => undefined);
    return run;
  }

  /**
   * Follow the file: what another process (the CLI) or an editor commits is adopted, and onChange
   * hears its keys. A file that cannot be used is reported to `onError` and the settings stay.
   */
  watch(onError: (err: Error) => void = () => undefined): void {
    if (this.#watcher) return;
    const name = basename(this.file);
    let timer: NodeJS.Timeout | undefined;
    this.#watcher = watch(dirname(this.file), (_event, filename) => {
      if (filename !== name) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        this.#serial(() => this.reload()).catch((err: unknown) => onError(err instanceof Error ? err : new Error(String(err))));
      }, 50);
    });
    this.#watcher.unref();
  }

  close(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
