// What ACME keeps in DATA/acme (0700), every file written durably (temp, fsync, rename, fsync of
// the folder) and private keys 0600:
//   account-key.pem   the account's private key (made once, kept across CAs)
//   account.json      the account URL at each directory it is registered with
//   live/cert.pem     the certificate chain being served, live/key.pem its key
//   state.json        the last attempt, failures in a row and when to try next (a restart
//                     does not hammer the CA, whose limits count failed validations)
//   request.json      `yubin acme renew|revoke` from another process asks the running firmware
import { readFile, rm, mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../files/durable.ts';
import { acmeLiveFiles } from '../tls/store.ts';
import type { TlsFiles } from '../tls/certificate.ts';

export interface AcmeState {
  /** ms since the epoch of the last attempt, and how it ended. */
  lastAttempt?: number;
  lastResult?: 'issued' | 'failed' | 'revoked';
  lastError?: string;
  /** Failed attempts in a row. */
  failures: number;
  /** Not before this time (backoff, or the CA's Retry-After). */
  nextAttempt?: number;
  /** Serial of the last certificate issued. */
  serial?: string;
}

export type AcmeRequest = { action: 'renew' | 'revoke'; at: number };

export class AcmeStorage {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'acme');
    this.live = acmeLiveFiles(dataDir);
  }

  readonly live: { cert: string; key: string };

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'live'), { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
  }

  /** The account key, made by `make` on first use. */
  async accountKey(make: () => Promise<Buffer>): Promise<Buffer> {
    const path = join(this.dir, 'account-key.pem');
    try {
      return await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const key = await make();
    await writeFileDurable(path, key, 0o600);
    return key;
  }

  async accountUrl(directory: string): Promise<string | undefined> {
    return (await this.#json<Record<string, string>>('account.json', {}))[directory];
  }

  async saveAccountUrl(directory: string, url: string): Promise<void> {
    const all = await this.#json<Record<string, string>>('account.json', {});
    all[directory] = url;
    await writeFileDurable(join(this.dir, 'account.json'), JSON.stringify(all, null, 2) + '\n', 0o600);
  }

  async forgetAccountUrl(directory: string): Promise<void> {
    const all = await this.#json<Record<string, string>>('account.json', {});
    delete all[directory];
    await writeFileDurable(join(this.dir, 'account.json'), JSON.stringify(all, null, 2) + '\n', 0o600);
  }

  async liveFiles(): Promise<TlsFiles | null> {
    try {
      return { cert: await readFile(this.live.cert), key: await readFile(this.live.key) };
    } catch {
      return null;
    }
  }

  /** Key first: a crash between the two leaves a new key with the old chain, which checkPair refuses (and the old one is re-issued). */
  async saveLive(files: TlsFiles): Promise<void> {
    await writeFileDurable(this.live.key, files.key, 0o600);
    await writeFileDurable(this.live.cert, files.cert, 0o600);
  }

  async removeLive(): Promise<void> {
    await rm(this.live.cert, { force: true });
    await rm(this.live.key, { force: true });
  }

  async state(): Promise<AcmeState> {
    return this.#json<AcmeState>('state.json', { failures: 0 });
  }

  async saveState(state: AcmeState): Promise<void> {
    await writeFileDurable(join(this.dir, 'state.json'), JSON.stringify(state, null, 2) + '\n', 0o600);
  }

  async request(action: AcmeRequest['action']): Promise<void> {
    await writeFileDurable(join(this.dir, 'request.json'), JSON.stringify({ action, at: Date.now() } satisfies AcmeRequest) + '\n', 0o600);
  }

  /** A pending request, taken (removed) so it runs once. */
  async takeRequest(): Promise<AcmeRequest | null> {
    const path = join(this.dir, 'request.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return null;
    }
    await rm(path, { force: true });
    try {
      const r = JSON.parse(text) as AcmeRequest;
      return r.action === 'renew' || r.action === 'revoke' ? r : null;
    } catch {
      return null;
    }
  }

  async #json<T>(name: string, fallback: T): Promise<T> {
    try {
      return JSON.parse(await readFile(join(this.dir, name), 'utf8')) as T;
    } catch {
      return fallback;
    }
  }
}
