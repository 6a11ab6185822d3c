// Native addons for the target CPU, placed where their loaders look when the JavaScript is
// bundled into one file beside them: `bindings` (epoll) looks in <root>/build/Release,
// `node-gyp-build` (serialport) in <root>/serialport/prebuilds/linux-<arch> (a root of its own: it
// would take any .node in <root>/build/Release first, epoll's included).
import { cp, mkdir, copyFile, readdir, access } from 'node:fs/promises';
import { run } from './run.ts';
import { outDir, repoRoot, type Target } from './targets.ts';
import type { NodeRuntime } from './node-runtime.ts';

/** epoll.node compiled against the target Node's headers (cross-compiled for arm64). Cached per version. */
export async function buildEpoll(target: Target, runtime: NodeRuntime): Promise<string> {
  // Inside a node_modules of our own so that binding.gyp's require('nan') resolves up to the repo's nan.
  const work = `${outDir}/addons/${target.arch}-${runtime.version}/node_modules/epoll`;
  const built = `${work}/build/Release/epoll.node`;
  try {
    await access(built);
    return built;
  } catch {}
  await mkdir(work, { recursive: true });
  await cp(`${repoRoot}/node_modules/epoll`, work, { recursive: true, filter: (src) => !src.includes('/build') });
  const cross = target.crossPrefix
    ? { CC: `${target.crossPrefix}gcc`, CXX: `${target.crossPrefix}g++`, LINK: `${target.crossPrefix}g++`, AR: `${target.crossPrefix}ar` }
    : {};
  await run(`${repoRoot}/node_modules/.bin/node-gyp`, ['rebuild', `--arch=${target.arch}`, `--nodedir=${runtime.dir}`], {
    cwd: work,
    // Under `npm test` npm exports its own nodedir (this machine's Node 20 headers) as
    // npm_config_nodedir, which node-gyp prefers: point it at the target Node too.
    env: { ...process.env, npm_config_nodedir: runtime.dir, ...cross },
  });
  return built;
}

/** serialport's addon root, relative to the bundle's folder. */
export const serialportRoot = 'serialport';

/** serialport ships N-API prebuilds for both our CPUs; take the glibc one only. */
async function serialportPrebuilds(target: Target): Promise<{ dir: string; files: string[] }> {
  const dir = `prebuilds/linux-${target.arch}`;
  const from = `${repoRoot}/node_modules/@serialport/bindings-cpp/${dir}`;
  const files = (await readdir(from)).filter((f) => f.endsWith('.glibc.node'));
  if (files.length === 0) throw new Error(`no glibc prebuild of @serialport/bindings-cpp in ${from}`);
  return { dir, files: files.map((f) => `${from}/${f}`) };
}

/** Put both addons beside a bundle in `dest`. */
export async function installAddons(target: Target, runtime: NodeRuntime, dest: string): Promise<void> {
  await mkdir(`${dest}/build/Release`, { recursive: true });
  await copyFile(await buildEpoll(target, runtime), `${dest}/build/Release/epoll.node`);
  const serial = await serialportPrebuilds(target);
  const serialDir = `${dest}/${serialportRoot}/${serial.dir}`;
  await mkdir(serialDir, { recursive: true });
  for (const file of serial.files) await copyFile(file, `${serialDir}/${file.split('/').at(-1)}`);
}
