// What a backup holds, as data: the folders and files of DATA that make this board this office's
// board. Settings always; mail only when asked. Never the spool (mail in flight is the sender's
// until delivered, and a restored queue would send it twice) nor scratch space.
import { readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';

export type Part = 'settings' | 'mail';

interface Rule {
  /** A path relative to DATA: a file, or a folder taken whole. */
  readonly path: string;
  readonly part: Part;
  /** Within a folder, only names that match (the quarantine's index records vs its messages). */
  readonly only?: RegExp;
  readonly why: string;
}

export const RULES: readonly Rule[] = [
  { path: 'config.json', part: 'settings', why: 'settings, users with their password hashes, aliases, the console password hash' },
  { path: 'secrets', part: 'settings', why: 'APOP secrets, the hold key that signs cancel addresses' },
  { path: 'dkim', part: 'settings', why: 'DKIM signing keys (their DNS records are published: a new key would break signing)' },
  { path: 'tls', part: 'settings', why: 'the certificate and key (self-signed or installed)' },
  { path: 'quarantine', part: 'settings', only: /\.json$/, why: 'the quarantine index (what is held, why, until when)' },
  { path: 'quarantine', part: 'mail', only: /\.eml$/, why: 'the held messages themselves' },
  { path: 'mail', part: 'mail', why: "every user's Maildir" },
  { path: 'archive', part: 'mail', why: 'the archive of sent mail' },
];

/** Names never taken: temporary files of durable writes (.x.tmp) and of a restore in progress. */
const SCRATCH = /^\.|\.tmp$/;

export interface FileEntry {
  /** Relative to DATA, with / separators. */
  readonly path: string;
  readonly part: Part;
}

/** The files of DATA a backup of `parts` takes, in a stable order (folders walked sorted). */
export async function selectFiles(dataDir: string, parts: readonly Part[]): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  const seen = new Set<string>();
  for (const rule of RULES) {
    if (!parts.includes(rule.part)) continue;
    const at = join(dataDir, rule.path);
    const stat = await lstat(at).catch(() => null);
    if (!stat) continue;
    if (stat.isFile()) {
      if (!seen.has(rule.path)) out.push({ path: rule.path, part: rule.part });
      seen.add(rule.path);
      continue;
    }
    if (!stat.isDirectory()) continue;
    for (const rel of await walk(at, '')) {
      const path = `${rule.path}/${rel}`;
      const name = rel.split('/').at(-1)!;
      if (rule.only && !rule.only.test(name)) continue;
      if (seen.has(path)) continue;
      seen.add(path);
      out.push({ path, part: rule.part });
    }
  }
  return out;
}

/** Regular files under `dir` (relative paths, sorted); symbolic links and scratch names are skipped. */
async function walk(dir: string, prefix: string): Promise<string[]> {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true }).catch(() => []);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    if (SCRATCH.test(e.name)) continue;
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

/** Whether `path` (relative to DATA) is one a backup may hold: restore refuses anything else. */
export function allowedPath(path: string): Part | null {
  if (path.length === 0 || path.length > 1024 || path.startsWith('/') || path.includes('\\') || path.includes('\0')) return null;
  const parts = path.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || SCRATCH.test(p))) return null;
  for (const rule of RULES) {
    const name = parts.at(-1)!;
    if (path === rule.path && !rule.only) return rule.part;
    if (path.startsWith(`${rule.path}/`) && (!rule.only || rule.only.test(name))) return rule.part;
  }
  return null;
}

/** The top-level names of DATA a restore of `parts` replaces (quarantine is merged, not replaced). */
export function replacedRoots(parts: readonly Part[]): string[] {
  return [...new Set(RULES.filter((r) => parts.includes(r.part) && !r.only).map((r) => r.path))];
}
