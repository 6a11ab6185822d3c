// `npm run image:bundle:x64` / `image:bundle:arm64`: the signed upgrade bundle of this tree, image/out/yubin-<arch>.raucb
// (the root slot image the image build makes, in a RAUC bundle). Signed with --cert/--key (or
// YUBIN_SIGNING_CERT/YUBIN_SIGNING_KEY), else with the development key of image/out/keys/.
// `npm run image:build:<arch>` makes the same bundle beside the image.
import { stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { parseArch, option, targets, outDir } from './lib/targets.ts';
import { buildRoot, slotImage, bundlePath } from './build.ts';
import { signingKey, makeBundle } from './lib/rauc.ts';
import { compatible } from './lib/slots.ts';
import { secondsSince } from './lib/run.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

if (import.meta.main) {
  const argv = process.argv.slice(2);
  try {
    if (process.getuid?.() !== 0) throw new Error('must run as root (the root tree keeps its owners only as root)');
    const target = targets[parseArch(option(argv, '--arch'))];
    if (!target.abSlots) throw new Error(`the ${target.arch} image has no A/B slots yet (its boot loader is the Pi firmware): flash the image instead`);
    const start = performance.now();
    const key = await signingKey({ cert: option(argv, '--cert'), key: option(argv, '--key') });
    if (key.development) console.log(`bundle: signing with the DEVELOPMENT key ${key.cert}`);
    const release = option(argv, '--release') ?? VERSION;
    const work = `${outDir}/${target.arch}-bundle`;
    const { root, bundleFiles } = await buildRoot(target, { release, key, work });
    await slotImage(root, `${work}/root.img`, target);
    const out = await makeBundle({ rootImage: `${work}/root.img`, files: bundleFiles, compatible: compatible(target), version: release, key, out: option(argv, '--out') ?? bundlePath(target), work });
    console.log(`bundle: ${out} (${((await stat(out)).size / 1048576).toFixed(1)} MiB, ${compatible(target)} ${release}) in ${secondsSince(start)} s`);
  } catch (err) {
    console.error(`bundle: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
