// The Debian root, made by mmdebstrap (no loop mounts, no chroot of our own) and cached as a
// tarball in image/out/cache keyed by everything that goes into it, so a rebuild of the
// appliance layer does not wait for Debian again.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, readFile, access } from 'node:fs/promises';
import { run, secondsSince } from './run.ts';
import { cacheDir, type Target } from './targets.ts';

export const suite = 'bookworm';
export const mirror = process.env.YUBIN_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

// Documentation, manuals and translations are dead weight on a read-only appliance; licences stay.
const dpkgOptions = [
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/lintian/*',
];

function mmdebstrapArgs(target: Target, output: string): string[] {
  return [
    '--variant=minbase',
    `--architectures=${target.debianArch}`,
    '--components=main,non-free-firmware',
    `--include=${target.packages.join(',')}`,
    ...dpkgOptions.map((o) => `--dpkgopt=${o}`),
    // Kernel hooks of raspi-firmware expect the boot partition mounted; we assemble it ourselves.
    '--essential-hook=mkdir -p "$1/boot/firmware"',
    // Before the kernel is installed: a small initramfs of listed modules only.
    // (modules.d, not /etc/initramfs-tools/modules: that one is the package's conffile.)
    `--essential-hook=mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d" && echo MODULES=list > "$1/etc/initramfs-tools/conf.d/yubin.conf" && printf '%s\\n' ${target.initrdModules.join(' ')} > "$1/usr/share/initramfs-tools/modules.d/yubin"`,
    '--aptopt=APT::Install-Recommends "false"',
    '--customize-hook=rm -rf "$1/var/cache/apt/archives" "$1/var/lib/apt/lists"/* "$1/var/log"/*',
    suite,
    output,
    mirror,
  ];
}

/** Make sure a foreign-architecture root can run its maintainer scripts (qemu-user via binfmt_misc). */
async function ensureBinfmt(target: Target): Promise<void> {
  if (target.debianArch !== 'arm64' || process.arch === 'arm64') return;
  const entry = '/proc/sys/fs/binfmt_misc/qemu-aarch64';
  if (!existsSync('/proc/sys/fs/binfmt_misc/register')) {
    await run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', '/proc/sys/fs/binfmt_misc']);
  }
  if (!existsSync(entry)) await run('update-binfmts', ['--enable', 'qemu-aarch64']);
  const state = await readFile(entry, 'utf8');
  if (!state.startsWith('enabled')) throw new Error(`${entry} is not enabled: install qemu-user-static and binfmt-support`);
}

/** Path of the cached root tarball for this target, building it first when absent. */
export async function debianRoot(target: Target): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify([suite, mirror, mmdebstrapArgs(target, '')])).digest('hex').slice(0, 12);
  const tarball = `${cacheDir}/rootfs-${target.debianArch}-${key}.tar`;
  try {
    await access(tarball);
    return tarball;
  } catch {}
  await mkdir(cacheDir, { recursive: true });
  await ensureBinfmt(target);
  const start = performance.now();
  const partial = `${tarball}.partial.tar`;
  console.log(`image: mmdebstrap ${suite} ${target.debianArch} (cached afterwards as ${tarball})`);
  // The system python3 for mmtarfilter: a per-user shim (pyenv) in PATH costs seconds per package.
  const env = { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin:${process.env.PATH ?? ''}` };
  await run('mmdebstrap', mmdebstrapArgs(target, partial), { inherit: true, env });
  await rename(partial, tarball);
  console.log(`image: Debian root for ${target.debianArch} made in ${secondsSince(start)} s`);
  return tarball;
}
