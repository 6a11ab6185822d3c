// Signs one spooled message with the keys of its From domain; the message is read as a stream.
import { createReadStream } from 'node:fs';
import { readHeaders } from '../mime/header-block.ts';
import { loadKeys, type DkimKey } from './keys.ts';
import type { FileHead } from '../mail/types.ts';
import addressparser from 'nodemailer/lib/addressparser';

export class SignError extends Error {
  override readonly name = 'SignError';
}

/** The author domain (RFC 5322 From) of the message, lower case, or null. */
export async function authorDomain(path: string, head?: FileHead): Promise<string | null> {
  const from = (await readHeaders(path, undefined, head)).find((h) => h.key === 'from');
  if (!from) return null;
  const first = addressparser(from.value, { flatten: true })[0];
  const at = first?.address.lastIndexOf('@') ?? -1;
  return first && at > 0 ? first.address.slice(at + 1).toLowerCase().replace(/\.$/, '') : null;
}

/**
 * The keys to sign with: those of the author domain, else of its nearest parent that has keys
 * (still relaxed-aligned for DMARC, RFC 7489 §3.1.1). `allowed` limits the domains (empty: any).
 */
export async function keysFor(dataDir: string, domain: string, allowed: readonly string[]): Promise<DkimKey[]> {
  const labels = domain.split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const candidate = labels.slice(i).join('.');
    if (allowed.length > 0 && !allowed.includes(candidate)) continue;
    const keys = await loadKeys(dataDir, candidate);
    if (keys.length > 0) return keys;
  }
  return [];
}

/** DKIM-Signature fields (one per key, rsa-sha256 and/or ed25519-sha256), each without the final CRLF. */
export async function signFile(path: string, keys: readonly DkimKey[], canonicalization: string): Promise<string[]> {
  if (keys.length === 0) return [];
  // mailauth costs ~30 MiB of RSS: loaded with the first message signed, never without keys.
  const { dkimSign } = (await import('mailauth')).default;
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  try {
    const res = await dkimSign(stream, {
      signingDomain: keys[0]!.domain,
      selector: keys[0]!.selector,
      privateKey: keys[0]!.privateKeyPem,
      canonicalization,
      strict: true,
      signatureData: keys.map((k) => ({
        signingDomain: k.domain,
        selector: k.selector,
        privateKey: k.privateKeyPem,
        algorithm: k.algorithm,
        canonicalization,
      })),
    });
    if (res.errors.length > 0) {
      const e = res.errors[0]!;
      throw new SignError(`DKIM signing for ${e.signingDomain ?? keys[0]!.domain} (selector ${e.selector ?? '?'}) failed: ${e.err.message}`);
    }
    return splitFields(res.signatures);
  } finally {
    stream.destroy();
  }
}

/** "DKIM-Signature: ...\r\n\t...\r\nDKIM-Signature: ...\r\n" → one string per field. */
function splitFields(text: string): string[] {
  return text
    .replace(/\r?\n$/, '')
    .split(/\r?\n(?![ \t])/)
    .filter((f) => f.length > 0)
    .map((f) => f.replace(/\r?\n/g, '\r\n'));
}
