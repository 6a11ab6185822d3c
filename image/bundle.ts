// `npm run build [-- --arch x64|arm64] [--entry FILE] [--out DIR]`: the firmware as a few files
// for the board: yubin.mjs and the chunks it loads at first use (all JavaScript, bundled by
// esbuild), package.json, and the two native addons built or picked for the target CPU.
// Default: dist/<arch>/ from firmware/yubin.ts.
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { mkdir, rm, writeFile, stat, readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parseArch, option, targets, repoRoot, type Target } from './lib/targets.ts';
import { nodeRuntime, type NodeRuntime } from './lib/node-runtime.ts';
import { installAddons, serialportRoot } from './lib/addons.ts';

// CommonJS packages inside an ESM bundle still call require() and read __dirname; give them both.
const banner = [
  "import { createRequire as __yubinCreateRequire } from 'node:module';",
  "import { fileURLToPath as __yubinFileURLToPath } from 'node:url';",
  'const require = __yubinCreateRequire(import.meta.url);',
  'const __filename = __yubinFileURLToPath(import.meta.url);',
  "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
].join('\n');

// serialport looks for its addon one folder above its own file (its package root); in the bundle
// that file is yubin.mjs itself, so point it at a folder of its own beside the bundle: node-gyp-build
// takes the first .node in <root>/build/Release, which beside the bundle is epoll's addon, not
// serialport's. Fails loudly if upstream changes.
const serialportBesideBundle: Plugin = {
  name: 'serialport-beside-bundle',
  setup(b) {
    b.onLoad({ filter: /@serialport[\\/]bindings-cpp[\\/]dist[\\/]serialport-bindings\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const call = "(0, path_1.join)(__dirname, '../')";
      if (!source.includes(call)) throw new Error(`${args.path}: addon lookup changed upstream; update image/bundle.ts`);
      return { contents: source.replace(call, `(0, path_1.join)(__dirname, '${serialportRoot}')`), loader: 'js' };
    });
  },
};

// smtp-server's one use of nodemailer/lib/shared, getLogger, from a file of ours: the real module
// would put node:http and node:https in the bundle's static imports (image/shims/nodemailer-shared.ts).
const smtpServerLogger: Plugin = {
  name: 'smtp-server-logger',
  setup(b) {
    b.onResolve({ filter: /^nodemailer\/lib\/shared$/ }, (args) =>
      args.importer.includes('/node_modules/smtp-server/') ? { path: `${repoRoot}/image/shims/nodemailer-shared.ts` } : undefined);
  },
};

// Code splitting puts a package loaded with import() in a chunk of its own, read at first use: an
// idle board holds ~1.2 MiB of source text instead of the whole 4.4 MiB bundle (V8 keeps a script's
// source for lazy compilation). Such a chunk of a CommonJS package has a default export only (its
// module.exports), so the firmware takes them as (await import('mqtt')).default, which means the
// same under Node without a bundle; this check fails the build on a named import that would be
// undefined on the board only (`connect is not a function` once a broker is set).
const namedDynamicImport = /(\{[^{}]*\}|[\w$]+)\s*=\s*await import\((['"])([^'"]+)\2\)(\.default)?/g;
function checkDynamicImports(path: string, source: string): void {
  for (const m of source.matchAll(namedDynamicImport)) {
    const [, binding, , spec, dotDefault] = m;
    if (/^(\.|\/|node:)/.test(spec!) || dotDefault || /^\{\s*default\s*:\s*[\w$]+\s*\}$/.test(binding!)) continue;
    throw new Error(`${path}: take (await import('${spec}')).default: a package's chunk in the bundle has a default export only`);
  }
}

// Packages the firmware require()s at first use, each bundled into a CommonJS file of its own
// beside yubin.mjs: require() is synchronous, so they cannot be chunks, and in yubin.mjs's static
// graph their source text would be held from the start (mailsplit with its own libmime, iconv-lite
// and encoding-japanese: 0.95 MiB, src/mime/mime.ts loads it with the first message parsed).
const requiredAtFirstUse = ['mailsplit'];
const requiredFilesBeside: Plugin = {
  name: 'required-files-beside',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${requiredAtFirstUse.join('|')})$`) }, (args) => {
      if (args.kind !== 'require-call') throw new Error(`${args.importer}: ${args.path} is bundled as ./${args.path}.cjs, for require() only`);
      return { path: `./${args.path}.cjs`, external: true };
    });
  },
};

// Two things our sources do at run time that a bundle cannot: load a CommonJS package with
// createRequire(import.meta.url)('name') (made require('name'), which esbuild bundles), and read
// a package.json beside the source (inlined at build time: only name and version). Each source is
// read once here, and its dynamic imports checked (checkDynamicImports).
const packageJsonRead = /JSON\.parse\(readFileSync\(new URL\((['"])([^'"]*package\.json)\1, import\.meta\.url\), 'utf8'\)\)/g;
const sourceFixups: Plugin = {
  name: 'source-fixups',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes('/node_modules/')) return undefined;
      const source = await readFile(args.path, 'utf8');
      checkDynamicImports(args.path, source);
      if (!source.includes('createRequire(import.meta.url)(') && !source.includes('package.json')) return undefined;
      let contents = source.replace(/createRequire\(import\.meta\.url\)\((['"][^'"]+['"])\)/g, 'require($1)');
      for (const m of source.matchAll(packageJsonRead)) {
        const pkg = JSON.parse(await readFile(new URL(m[2]!, `file://${args.path}`), 'utf8')) as { name?: string; version?: string };
        contents = contents.replace(m[0], `(${JSON.stringify({ name: pkg.name, version: pkg.version })})`);
      }
      return { contents, loader: 'ts' };
    });
  },
};

// What yubin.mjs and the required-at-first-use files are built with alike. Whitespace and syntax
// are minified only: identifiers stay readable in stack traces from the field.
const common = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
} as const satisfies BuildOptions;

export interface BundleOptions {
  target: Target;
  entry: string;
  out: string;
  runtime?: NodeRuntime;
}

export interface BundleResult {
  out: string;
  /** yubin.mjs, its chunks and the required-at-first-use files together. */
  bundleBytes: number;
  nodeVersion: string;
}

/** Bundle `entry` into `out`/yubin.mjs (and the chunks it loads at first use) and put the target's native addons beside it. */
export async function bundleFirmware(options: BundleOptions): Promise<BundleResult> {
  const { target, entry, out } = options;
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await build({
    entryPoints: [entry],
    outdir: out,
    entryNames: 'yubin',
    outExtension: { '.js': '.mjs' },
    // Chunks beside yubin.mjs: the banner's __dirname and the addons' lookups stay as they were.
    splitting: true,
    chunkNames: '[name]-[hash]',
    ...common,
    format: 'esm',
    banner: { js: banner },
    plugins: [serialportBesideBundle, smtpServerLogger, requiredFilesBeside, sourceFixups],
  });
  for (const name of requiredAtFirstUse) {
    await build({
      entryPoints: [createRequire(import.meta.url).resolve(name)],
      outfile: `${out}/${name}.cjs`,
      ...common,
      format: 'cjs',
    });
  }
  // `bindings` finds the addon's root by looking for a package.json beside the calling file.
  await writeFile(`${out}/package.json`, JSON.stringify({ name: 'yubin-firmware', private: true, type: 'module' }, null, 2) + '\n');
  const runtime = options.runtime ?? (await nodeRuntime(target));
  await installAddons(target, runtime, out);
  let bundleBytes = 0;
  for (const f of await readdir(out)) if (/\.[cm]js$/.test(f)) bundleBytes += (await stat(`${out}/${f}`)).size;
  return { out, bundleBytes, nodeVersion: runtime.version };
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  try {
    const target = targets[parseArch(option(argv, '--arch'))];
    const entry = option(argv, '--entry') ?? `${repoRoot}/firmware/yubin.ts`;
    const out = option(argv, '--out') ?? `${repoRoot}/dist/${target.arch}`;
    const result = await bundleFirmware({ target, entry, out });
    console.log(`build: ${result.out}/yubin.mjs and its chunks, ${(result.bundleBytes / 1024).toFixed(0)} KiB of JavaScript for linux-${target.arch}, native addons for Node ${result.nodeVersion}`);
  } catch (err) {
    console.error(`build: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
