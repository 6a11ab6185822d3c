// Node 24 for the board, from the npm registry's node-linux-<arch> package (bin/node and the
// headers native addons build against). Fetched once with `npm pack` into image/out/cache.
import { mkdir, readdir, rm, copyFile, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { run } from './run.ts';
import { cacheDir, type Target } from './targets.ts';

export interface NodeRuntime {
  readonly version: string;
  /** Unpacked package: bin/node, include/node (a --nodedir for node-gyp). */
  readonly dir: string;
}

/** The newest Node 24 for the target, unpacked; a cached tarball is reused without asking the registry. */
export async function nodeRuntime(target: Target): Promise<NodeRuntime> {
  const name = `node-linux-${target.arch}`;
  await mkdir(cacheDir, { recursive: true });
  let tarball = (await readdir(cacheDir)).filter((f) => f.startsWith(`${name}-24.`) && f.endsWith('.tgz')).sort(byVersion).at(-1);
  if (tarball === undefined) {
    tarball = (await run('npm', ['pack', '--silent', `${name}@24`], { cwd: cacheDir })).trim().split('\n').at(-1)!;
  }
  const version = tarball.slice(name.length + 1, -'.tgz'.length);
  const dir = `${cacheDir}/${name}-${version}`;
  if (!existsSync(`${dir}/bin/node`)) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await run('tar', ['-xzf', `${cacheDir}/${tarball}`, '-C', dir, '--strip-components=1']);
  }
  return { version, dir };
}

function byVersion(a: string, b: string): number {
  const parts = (s: string) => (s.match(/\d+/g) ?? []).map(Number);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Install the runtime into a root: only the stripped binary (no npm, corepack, headers, docs).
 * Symbols are for debuggers we do not ship; stripping saves tens of MiB on the card.
 */
export async function installNode(runtime: NodeRuntime, target: Target, root: string): Promise<void> {
  const bin = `${root}/usr/local/bin/node`;
  await mkdir(`${root}/usr/local/bin`, { recursive: true });
  await copyFile(`${runtime.dir}/bin/node`, bin);
  await run(`${target.crossPrefix}strip`, ['--strip-all', bin]).catch(() => run('strip', ['--strip-all', bin]));
  await chmod(bin, 0o755);
}
