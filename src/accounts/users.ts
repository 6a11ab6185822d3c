// Users of the office: who may log in (SMTP AUTH, POP3, console is separate) and which
// envelope addresses each one owns. Records live in the config store; APOP secrets do not.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../files/durable.ts';
import { secretsDir } from '../config/secrets-dir.ts';
import { ConfigError, type ConfigStore, type UserRecord } from '../config/store.ts';
import { hashPassword, verifyPassword, dummyHash } from './passwords.ts';

export const USER_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** A mail user's password rules: throws a ConfigError naming what is wrong. */
export function passwordRules(password: string): void {
  if (password.length < 8) throw new ConfigError('password', 'too short: use at least 8 characters');
}

export function checkUserName(name: string): string {
  const n = name.toLowerCase();
  if (!USER_NAME_RE.test(n)) {
    throw new ConfigError('user', `${JSON.stringify(name)} is not allowed: expected 1-64 of a-z 0-9 . _ - starting with a letter or digit`);
  }
  return n;
}

export class Users {
  readonly #store: ConfigStore;
  readonly #apopFile: string;

  constructor(store: ConfigStore) {
    this.#store = store;
    // Readable by Yubin alone (mode 0600): APOP needs the secret itself, so it must never be the login hash.
    this.#apopFile = join(secretsDir(store.dataDir), 'apop.json');
  }

  list(): string[] {
    return Object.keys(this.#store.db.users).sort();
  }

  get(name: string): UserRecord | undefined {
    return this.#store.db.users[name.toLowerCase()];
  }

  async add(name: string, password: string, options: { addresses?: string[]; quota?: number } = {}): Promise<void> {
    const n = checkUserName(name);
    passwordRules(password);
    const passwordHash = await hashPassword(password);
    await this.#store.update((db) => {
      if (db.users[n]) throw new ConfigError('user', `${n} already exists`);
      db.users[n] = { passwordHash, addresses: options.addresses ?? [], apop: false, ...(options.quota !== undefined ? { quota: options.quota } : {}) };
    });
  }

  async remove(name: string): Promise<void> {
    const n = name.toLowerCase();
    await this.#store.update((db) => {
      if (!db.users[n]) throw new ConfigError('user', `${n} does not exist`);
      delete db.users[n];
    });
    await this.setApopSecret(n, null);
  }

  async setPassword(name: string, password: string): Promise<void> {
    const n = name.toLowerCase();
    passwordRules(password);
    const passwordHash = await hashPassword(password);
    await this.#store.update((db) => {
      const u = db.users[n];
      if (!u) throw new ConfigError('user', `${n} does not exist`);
      u.passwordHash = passwordHash;
    });
  }

  async setQuota(name: string, quota: number | undefined): Promise<void> {
    const n = name.toLowerCase();
    await this.#store.update((db) => {
      const u = db.users[n];
      if (!u) throw new ConfigError('user', `${n} does not exist`);
      if (quota === undefined) delete u.quota;
      else u.quota = quota;
    });
  }

  /**
   * Check a login. Unknown users cost the same time as known ones, so replies and timing
   * do not tell a guesser which names exist.
   */
  async authenticate(name: string, password: string): Promise<string | null> {
    const n = name.toLowerCase();
    const user = this.#store.db.users[n];
    // A user imported without a password (config import) has an empty hash: it cannot log in, and
    // takes as long to refuse as anyone else.
    const ok = await verifyPassword(password, user?.passwordHash || (await dummyHash()));
    return ok && user && user.passwordHash ? n : null;
  }

  /** Addresses a user may send as and receive for: name@every local domain, plus extra ones. */
  addressesOf(name: string): string[] {
    const n = name.toLowerCase();
    const user = this.#store.db.users[n];
    if (!user) return [];
    const domains = this.#store.get('domains');
    return [...domains.map((d) => `${n}@${d}`), ...user.addresses.map((a) => a.toLowerCase())];
  }

  quotaOf(name: string): number {
    return this.get(name)?.quota ?? this.#store.get('mailbox.defaultQuota');
  }

  // --- APOP secrets (RFC 1939 §7): kept apart from the login hash, in a 0600 file. ---

  async #readApop(): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(this.#apopFile, 'utf8')) as Record<string, string>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
  }

  /** Set (or with null remove) a user's APOP secret; enables/disables APOP for that user. */
  async setApopSecret(name: string, secret: string | null): Promise<void> {
    const n = name.toLowerCase();
    const secrets = await this.#readApop();
    if (secret === null) delete secrets[n];
    else secrets[n] = secret;
    await writeFileDurable(this.#apopFile, JSON.stringify(secrets, null, 2) + '\n', 0o600);
    if (this.#store.db.users[n]) {
      await this.#store.update((db) => {
        const u = db.users[n];
        if (u) u.apop = secret !== null;
      });
    }
  }

  /** The APOP secret of a user for whom APOP is enabled, else null. */
  async apopSecret(name: string): Promise<string | null> {
    const n = name.toLowerCase();
    if (!this.#store.db.users[n]?.apop) return null;
    return (await this.#readApop())[n] ?? null;
  }
}
