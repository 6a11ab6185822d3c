// Node for the board, the version the tests ran, from the npm registry's node-linux-<arch> package (bin/node and the
// headers native addons build against). Fetched once with `npm pack` into image/out/cache.
import { mkdir, rm, copyFile, chmod } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { run } from './run.ts';
import { cacheDir, type Target } from './targets.ts';

export interface NodeRuntime {
  readonly version: string;
  /** Unpacked package: bin/node, include/node (a --nodedir for node-gyp). */
  readonly dir: string;
}

/**
 * The Node the tests ran, for the target: the exact version package.json pins for
 * node-linux-<arch> (what `npm ci` installs as node_modules/.bin/node and every npm script and
 * test runs on). A newer 24.x from the registry would ship a runtime no test has seen.
 */
export function pinnedNodeVersion(target: Target): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { optionalDependencies?: Record<string, string> };
  const version = pkg.optionalDependencies?.[`node-linux-${target.arch}`];
  if (!version || !/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`package.json must pin node-linux-${target.arch} to an exact version (it has ${JSON.stringify(version)})`);
  return version;
}

/** The pinned Node for the target, unpacked; a cached tarball is reused without asking the registry. */
export async function nodeRuntime(target: Target): Promise<NodeRuntime> {
  const name = `node-linux-${target.arch}`;
  const version = pinnedNodeVersion(target);
  await mkdir(cacheDir, { recursive: true });
  const tarball = `${name}-${version}.tgz`;
  if (!existsSync(`${cacheDir}/${tarball}`)) {
    const packed = (await run('npm', ['pack', '--silent', `${name}@${version}`], { cwd: cacheDir })).trim().split('\n').at(-1)!;
    if (packed !== tarball) throw new Error(`npm pack ${name}@${version} gave ${packed}`);
  }
  const dir = `${cacheDir}/${name}-${version}`;
  if (!existsSync(`${dir}/bin/node`)) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await run('tar', ['-xzf', `${cacheDir}/${tarball}`, '-C', dir, '--strip-components=1']);
  }
  return { version, dir };
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
