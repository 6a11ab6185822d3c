// The cancel address a sender receives for a held message: cancel+ID+TOKEN@hostname. The token is
// an HMAC of the queue ID and the envelope sender under a key only this board knows, so only the
// one who got the notice can cancel, and it cannot be guessed from the ID.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../files/durable.ts';
import { secretsDir } from '../config/secrets-dir.ts';

const keys = new Map<string, Promise<Buffer>>();

/** The board's cancel key (DATA/secrets/hold.key, made on first use, mode 0600). */
export function holdKey(dataDir: string): Promise<Buffer> {
  let key = keys.get(dataDir);
  if (!key) {
    key = loadOrCreate(join(secretsDir(dataDir), 'hold.key'));
    keys.set(dataDir, key);
    key.catch(() => keys.delete(dataDir));
  }
  return key;
}

async function loadOrCreate(file: string): Promise<Buffer> {
  try {
    const existing = await readFile(file);
    if (existing.length >= 32) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fresh = randomBytes(32);
  await writeFileDurable(file, fresh, 0o600);
  return fresh;
}

export function cancelToken(key: Buffer, id: string, mailFrom: string): string {
  return createHmac('sha256', key).update(`${id}\n${mailFrom.toLowerCase()}`).digest('hex').slice(0, 20);
}

export function cancelAddress(key: Buffer, id: string, mailFrom: string, hostname: string): string {
  return `cancel+${id}+${cancelToken(key, id, mailFrom)}@${hostname}`;
}

/** The queue ID and token of a cancel address at `hostname`, or null when it is not one. */
export function parseCancelAddress(address: string, hostname: string): { id: string; token: string } | null {
  const m = /^cancel\+([0-9a-z]{19})\+([0-9a-f]{20})@(.+)$/i.exec(address.trim());
  if (!m || m[3]!.toLowerCase().replace(/\.$/, '') !== hostname.toLowerCase()) return null;
  return { id: m[1]!.toUpperCase(), token: m[2]!.toLowerCase() };
}

export function tokenMatches(key: Buffer, id: string, mailFrom: string, token: string): boolean {
  const want = Buffer.from(cancelToken(key, id, mailFrom));
  const got = Buffer.from(token.toLowerCase());
  return want.length === got.length && timingSafeEqual(want, got);
}
