// The MTA-STS policies this board has fetched (RFC 8461 §5.1): kept until their max_age runs out,
// in DATA/mtasts/policies.json (written durably) so that an enforce policy keeps protecting the
// mail after a restart, when an attacker could otherwise strip the _mta-sts record.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../files/durable.ts';
import type { Policy } from './policy.ts';

export interface CachedPolicy {
  id: string;
  policy: Policy;
  /** The policy body as served (TLS-RPT reports it line by line). */
  text: string;
  fetchedAt: number;
  expiresAt: number;
}

/** Domains kept at most; the ones expiring first go when more arrive. */
const MAX_DOMAINS = 2000;

export class PolicyCache {
  readonly #file: string;
  #entries: Map<string, CachedPolicy> | null = null;
  #writing: Promise<void> = Promise.resolve();

  constructor(dataDir: string) {
    this.#file = join(dataDir, 'mtasts', 'policies.json');
  }

  async #load(): Promise<Map<string, CachedPolicy>> {
    if (this.#entries) return this.#entries;
    let data: Record<string, CachedPolicy> = {};
    try {
      data = JSON.parse(await readFile(this.#file, 'utf8')) as Record<string, CachedPolicy>;
    } catch {
      // none yet, or unreadable: start empty (policies are fetched again)
    }
    this.#entries ??= new Map(Object.entries(data));
    return this.#entries;
  }

  /** The cached policy of `domain` while its max_age lasts. */
  async get(domain: string, now = Date.now()): Promise<CachedPolicy | undefined> {
    const e = (await this.#load()).get(domain);
    return e && e.expiresAt > now ? e : undefined;
  }

  async put(domain: string, entry: CachedPolicy): Promise<void> {
    const entries = await this.#load();
    entries.set(domain, entry);
    if (entries.size > MAX_DOMAINS) {
      const oldest = [...entries.entries()].sort((a, b) => a[1].expiresAt - b[1].expiresAt).slice(0, entries.size - MAX_DOMAINS);
      for (const [d] of oldest) entries.delete(d);
    }
    const text = JSON.stringify(Object.fromEntries(entries), null, 1) + '\n';
    this.#writing = this.#writing.then(() => writeFileDurable(this.#file, text, 0o600)).catch(() => undefined);
    await this.#writing;
  }
}
