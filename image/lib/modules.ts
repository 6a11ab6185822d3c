// Kernel modules the image keeps: an allowlist (folders of kernel/ and module names) closed over
// modules.dep, so a kept module never misses one it needs. Everything else goes: Debian's kernel
// carries ~3,000 modules for hardware no mail board has.
import { readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './run.ts';

export interface ModuleKeep {
  /** Folders under kernel/ kept whole (e.g. net/netfilter). */
  readonly dirs: readonly string[];
  /** Single modules by name (dashes and underscores alike), e.g. virtio_net. */
  readonly names: readonly string[];
}

const nameOf = (path: string) => path.split('/').at(-1)!.replace(/\.ko(\.xz|\.zst|\.gz)?$/, '').replaceAll('-', '_');

/** The modules (paths relative to lib/modules/KERNEL) that `keep` selects, with everything they depend on. */
export function selectModules(modulesDep: string, keep: ModuleKeep): Set<string> {
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split('\n')) {
    const at = line.indexOf(':');
    if (at < 0) continue;
    deps.set(line.slice(0, at), line.slice(at + 1).trim().split(/\s+/).filter(Boolean));
  }
  const names = new Set(keep.names.map((n) => n.replaceAll('-', '_')));
  const wanted = new Set<string>();
  const add = (path: string) => {
    if (wanted.has(path)) return;
    wanted.add(path);
    for (const d of deps.get(path) ?? []) add(d);
  };
  for (const path of deps.keys()) {
    const rel = path.replace(/^kernel\//, '');
    if (keep.dirs.some((d) => rel.startsWith(`${d}/`)) || names.has(nameOf(path))) add(path);
  }
  const missing = [...names].filter((n) => ![...wanted].some((p) => nameOf(p) === n));
  if (missing.length > 0) throw new Error(`kernel modules to keep not in this kernel: ${missing.join(', ')} (built in, renamed?)`);
  return wanted;
}

/** Remove every module of `kernel` in `root` that `keep` does not select; depmod afterwards. Returns kept/total. */
export async function pruneModules(root: string, kernel: string, keep: ModuleKeep): Promise<{ kept: number; total: number }> {
  const base = join(root, 'lib/modules', kernel);
  const dep = await readFile(join(base, 'modules.dep'), 'utf8');
  const wanted = selectModules(dep, keep);
  let total = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(base, rel), { withFileTypes: true })) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        await walk(path);
        await rmdir(join(base, path)).catch(() => undefined);
      } else if (/\.ko(\.xz|\.zst|\.gz)?$/.test(e.name)) {
        total += 1;
        if (!wanted.has(path)) await rm(join(base, path));
      }
    }
  };
  await walk('kernel');
  await run('depmod', ['-b', root, kernel]);
  return { kept: wanted.size, total };
}
