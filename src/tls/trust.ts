// The roots the board trusts when it validates a server itself (tls.extraRoots besides Node's
// bundled Mozilla list). Read at use, so a changed file or setting holds for the next connection.
import { readFileSync, statSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

let cached: { path: string; mtimeMs: number; roots: string[] } | null = null;

/** The `ca` option for a validating TLS client: Node's roots plus those of `extraRootsFile`. */
export function trustedRoots(extraRootsFile: string): string[] {
  if (extraRootsFile === '') return [...rootCertificates];
  const mtimeMs = statSync(extraRootsFile).mtimeMs;
  if (cached?.path !== extraRootsFile || cached.mtimeMs !== mtimeMs) {
    const extra = readFileSync(extraRootsFile, 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    if (extra.length === 0) throw new Error(`tls.extraRoots: ${extraRootsFile} holds no PEM certificate`);
    cached = { path: extraRootsFile, mtimeMs, roots: [...rootCertificates, ...extra] };
  }
  return cached.roots;
}
