// `npm run build` output must run on the board's Node with its native addons, for each CPU.
import t from 'tap';
import { mkdtemp, rm, readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { bundleFirmware } from '../../image/bundle.ts';
import { nodeRuntime } from '../../image/lib/node-runtime.ts';
import { targets, type Arch } from '../../image/lib/targets.ts';

const exec = promisify(execFile);
const probe = new URL('./fixtures/addons-probe.ts', import.meta.url).pathname;

// arm64 runs under qemu-user with the cross toolchain's libc; skip where that is not installed.
const canRunArm64 = existsSync('/proc/sys/fs/binfmt_misc/qemu-aarch64') && existsSync('/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1')
  && existsSync('/usr/bin/aarch64-linux-gnu-g++');

for (const arch of ['x64', 'arm64'] as Arch[]) {
  t.test(`bundle for linux-${arch} loads epoll and serialport on the board's Node`, { skip: arch === 'arm64' && !canRunArm64 ? 'needs qemu-user-static and g++-aarch64-linux-gnu' : false, timeout: 240_000 }, async (t) => {
    const out = await mkdtemp(`${tmpdir()}/yubin-bundle-`);
    t.teardown(() => rm(out, { recursive: true, force: true }));
    const target = targets[arch];
    const runtime = await nodeRuntime(target);
    const result = await bundleFirmware({ target, entry: probe, out, runtime });
    const files = (await readdir(out)).filter((f) => !/^[\w-]+-[A-Z0-9]{8}\.mjs$/.test(f)).sort();
    t.same(files, ['build', 'mailsplit.cjs', 'package.json', 'serialport', 'yubin.mjs'], 'a few files: bundle and its chunks, mailsplit required at first use, package.json, addons (serialport in a root of its own)');
    t.ok((await readdir(out)).some((f) => f.startsWith('mailauth-')), 'mailauth in a chunk of its own, read at first use');
    const { stdout } = await exec(`${runtime.dir}/bin/node`, [`${out}/yubin.mjs`], {
      timeout: 60_000,
      env: { ...process.env, QEMU_LD_PREFIX: '/usr/aarch64-linux-gnu' },
    });
    const seen = JSON.parse(stdout) as Record<string, string>;
    t.same(seen, { gpio: 'function', serialport: 'function', mqtt: 'function', mailauth: 'function', arch, node: `v${result.nodeVersion}` });
  });
}

// esbuild hoists a bundled ES module's imports of Node's own modules to the top of its output file,
// so an `import http from 'node:http'` (nodemailer's ES build had one) runs when yubin.mjs or its
// chunk is loaded, however lazily its module is initialised, and node:http's namespace brings
// undici, http2 and worker_threads: ~4 MiB of RSS. The firmware requires them at first use instead.
t.test('the firmware bundle does not ES-import node:http or node:https', { timeout: 240_000 }, async (t) => {
  const out = await mkdtemp(`${tmpdir()}/yubin-bundle-`);
  t.teardown(() => rm(out, { recursive: true, force: true }));
  await bundleFirmware({ target: targets.x64, entry: new URL('../../firmware/yubin.ts', import.meta.url).pathname, out });
  // In yubin.mjs or a chunk: a chunk's imports run when it is first loaded, in this costly form.
  for (const file of (await readdir(out)).filter((f) => f.endsWith('.mjs'))) {
    const source = await readFile(`${out}/${file}`, 'utf8');
    t.same(source.match(/\bimport\s*[\w{][^;]*?from\s*["']node:https?["']/g) ?? [], [], file);
  }
});

// What an idle board loads is yubin.mjs and the chunks it imports statically; everything else is read
// at first use. mailauth with undici and joi (~17 MiB of idle RSS when a constant pulled it in),
// nodemailer's client, acme-client and its ASN.1 stack must stay behind an import().
t.test('the chunks an idle board loads hold none of the heavy packages', { timeout: 240_000 }, async (t) => {
  const out = await mkdtemp(`${tmpdir()}/yubin-bundle-`);
  t.teardown(() => rm(out, { recursive: true, force: true }));
  await bundleFirmware({ target: targets.x64, entry: new URL('../../firmware/yubin.ts', import.meta.url).pathname, out });
  const loaded = new Set<string>();
  const visit = async (file: string): Promise<void> => {
    if (loaded.has(file)) return;
    loaded.add(file);
    const source = await readFile(`${out}/${file}`, 'utf8');
    // Static imports only: `import{…}from"./x.mjs"` and `import"./x.mjs"`, not `import("./x.mjs")`.
    for (const m of source.matchAll(/\bimport\s*(?:[\w$*{][^;()]*?from\s*)?["']\.\/([\w.-]+\.mjs)["']/g)) await visit(m[1]!);
  };
  await visit('yubin.mjs');
  t.ok(loaded.size > 1, `${loaded.size} files loaded at start`);
  for (const file of loaded) {
    const source = await readFile(`${out}/${file}`, 'utf8');
    const heavy = [...new Set([...source.matchAll(/node_modules\/(mailauth|nodemailer|acme-client|undici|joi|@peculiar\/[\w-]+)\//g)].map((m) => m[1]))];
    t.same(heavy, [], `${file}: no heavy package`);
  }
});
