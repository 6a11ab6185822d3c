// `npm run image:build:x64` / `image:build:arm64`: a bootable raw disk image in image/out/,
// from Debian's packages (mmdebstrap), the registry's Node 24 and `npm run build`'s bundle.
// Layout: FAT boot (kernel, initrd, loader config) · read-only ext4 root · ext4 data (grows).
import { mkdir, rm, cp, readdir, rename, writeFile, symlink, truncate, stat, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { run, secondsSince } from './lib/run.ts';
import { parseArch, option, targets, outDir, repoRoot, imageRoot, type Target } from './lib/targets.ts';
import { debianRoot } from './lib/rootfs.ts';
import { nodeRuntime, installNode } from './lib/node-runtime.ts';
import { bundleFirmware } from './bundle.ts';
import { boardConfigJson } from './lib/board-defaults.ts';
import { NODE_FLAGS, RUNTIME_ENV } from '../firmware/node-flags.ts';
import { makeFat, makeExt4, makeSquashfs, assembleDisk, MiB, type Partition } from './lib/disk.ts';
import { pruneModules } from './lib/modules.ts';
import { grubCfg, makeGrubenv, grubBios, writeRaucConfig, makeBootScr, makeUbootEnv, ubootArgsText, SLOT_MIB, BOOT_MIB_X64, DISK_ID, UBOOT_ENV, UBOOT_ARGS, compatible } from './lib/slots.ts';
import { signingKey, makeBundle, type SigningKey } from './lib/rauc.ts';

export const bootSizeMiB = 128;
export const dataSizeMiB = 64;
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export function imagePath(target: Target): string {
  return `${outDir}/yubin-${target.arch}.img`;
}

/** The signed upgrade bundle the build makes beside the image (A/B targets). */
export function bundlePath(target: Target): string {
  return `${outDir}/yubin-${target.arch}.raucb`;
}

// Kernel drivers a mail server and router never loads (graphics, sound, cameras, Wi-Fi without
// its non-free firmware...): tens of MiB off the card.
const unneededModules = ['sound', 'drivers/gpu', 'drivers/media', 'drivers/infiniband', 'drivers/staging', 'drivers/isdn',
  'drivers/iio', 'drivers/net/wireless', 'net/wireless', 'net/mac80211', 'drivers/bluetooth', 'net/bluetooth', 'drivers/input/joystick',
  'drivers/input/touchscreen', 'drivers/hid', 'drivers/video/fbdev', 'drivers/target', 'fs/ocfs2', 'fs/gfs2', 'fs/xfs', 'fs/btrfs', 'fs/nfs', 'fs/nfsd', 'fs/ceph', 'fs/smb', 'drivers/md',
  // Data-centre NICs and storage HBAs (25-100 GbE, Fibre Channel, iSCSI offload, SAS RAID): not in a small office's router.
  'drivers/net/ethernet/mellanox', 'drivers/net/ethernet/qlogic', 'drivers/net/ethernet/chelsio', 'drivers/net/ethernet/sfc',
  'drivers/net/ethernet/netronome', 'drivers/net/ethernet/huawei', 'drivers/net/ethernet/emulex', 'drivers/net/ethernet/pensando',
  'drivers/scsi/qla2xxx', 'drivers/scsi/qla4xxx', 'drivers/scsi/lpfc', 'drivers/scsi/bfa', 'drivers/scsi/qedi', 'drivers/scsi/qedf',
  'drivers/scsi/be2iscsi', 'drivers/scsi/bnx2fc', 'drivers/scsi/bnx2i', 'drivers/scsi/csiostor', 'drivers/scsi/cxgbi', 'drivers/scsi/fcoe',
  'drivers/scsi/fnic', 'drivers/scsi/libfc', 'drivers/scsi/megaraid', 'drivers/scsi/mpt3sas', 'drivers/scsi/mpi3mr', 'drivers/scsi/smartpqi',
  'drivers/scsi/snic', 'drivers/scsi/pm8001', 'drivers/scsi/aic94xx', 'drivers/scsi/isci', 'drivers/scsi/esas2r', 'drivers/scsi/arcmsr',
  'drivers/infiniband', 'drivers/comedi', 'drivers/net/can', 'drivers/net/wwan', 'drivers/net/hamradio', 'drivers/net/fddi', 'drivers/net/arcnet',
  'drivers/net/ieee802154', 'net/sunrpc', 'net/tipc', 'net/rds', 'net/ceph', 'net/9p', 'fs/9p', 'fs/f2fs', 'fs/jfs', 'fs/reiserfs', 'fs/ntfs3',
  'fs/hfs', 'fs/hfsplus', 'fs/nilfs2', 'fs/ufs', 'fs/udf', 'fs/ubifs', 'fs/orangefs', 'fs/afs', 'fs/coda', 'fs/dlm', 'fs/zonefs'];

// Files only package installation or hardware catalogues use, never the appliance at run time:
// the full Perl library (perl-base, which dpkg needs, stays), udev's hardware database (vendor
// names for lsusb and friends; interface naming does not use it), glibc's iconv modules.
const unneededFiles = ['usr/share/perl', `usr/lib/@TRIPLET@/perl`, 'usr/lib/udev/hwdb.bin', 'usr/lib/udev/hwdb.d', 'etc/udev/hwdb.bin',
  'usr/lib/@TRIPLET@/gconv', 'usr/share/zsh', 'usr/share/bash-completion', 'var/lib/apt/lists', 'var/cache/debconf'];

// Units an appliance with a read-only root must not run: logins on the UART (Yubin's console
// owns it) and on screens, package-list refreshes, scrubbing a file system that never changes.
const masked = ['serial-getty@.service', 'getty@.service', 'console-getty.service', 'apt-daily.timer', 'apt-daily-upgrade.timer',
  'e2scrub_all.timer', 'e2scrub_reap.service', 'systemd-firstboot.service'];

const enabled: ReadonlyArray<readonly [string, string]> = [
  ['multi-user.target.wants', '/etc/systemd/system/yubin.service'],
  ['multi-user.target.wants', '/etc/systemd/system/yubin-grow-data.service'],
  ['multi-user.target.wants', '/lib/systemd/system/systemd-networkd.service'],
  ['sockets.target.wants', '/lib/systemd/system/systemd-networkd.socket'],
  ['multi-user.target.wants', '/lib/systemd/system/systemd-resolved.service'],
  ['multi-user.target.wants', '/etc/systemd/system/yubin-report.service'],
  ['multi-user.target.wants', '/etc/systemd/system/yubin-health.service'],
  ['multi-user.target.wants', '/etc/systemd/system/yubin-factory-reset.service'],
];

// grub-common is there for grub-editenv alone (RAUC writes GRUB's environment block with it).
// An A/B root is replaced whole by an upgrade, never patched by a package manager: apt, dpkg's
// file lists and maintainer scripts and Perl (only they use it) go too. (/var is a tmpfs at run
// time anyway; dpkg's status file stays, as the list of what is in the image.)
const abLeftovers = ['usr/share/grub', 'usr/lib/grub', 'etc/grub.d', 'usr/share/locale', 'usr/lib/apt', 'etc/apt', 'var/lib/dpkg/info',
  'var/lib/apt', 'usr/lib/@TRIPLET@/libperl.so.5.36', 'usr/lib/@TRIPLET@/libperl.so.5.36.0'];
const abLeftoverBinaries = /^(grub-(?!editenv$)|apt|perl)/;


async function customizeRoot(root: string, target: Target, app: string, options: { release: string; key: SigningKey }): Promise<void> {
  await cp(`${imageRoot}/files/common`, root, { recursive: true });
  // RAUC's post-install handler (the new slot's kernel onto the FAT for U-Boot).
  if (target.arch === 'arm64') await cp(`${imageRoot}/files/arm64`, root, { recursive: true });
  const unit = `${root}/etc/systemd/system/yubin.service`;
  const environment = Object.entries(RUNTIME_ENV).map(([k, v]) => `${k}=${v}`).join(' ');
  const text = (await readFile(unit, 'utf8')).replace('@NODE_FLAGS@', NODE_FLAGS.join(' ')).replace('@RUNTIME_ENV@', environment);
  // systemd would only log a line it cannot read and start the firmware without it.
  const left = /@[A-Z_]+@/.exec(text);
  if (left) throw new Error(`image: placeholder left in yubin.service: ${left[0]}`);
  await writeFile(unit, text);
  await installNode(await nodeRuntime(target), target, root);
  await cp(app, `${root}/usr/lib/yubin/app`, { recursive: true });
  await mkdir(`${root}/usr/lib/yubin/defaults`, { recursive: true });
  // A PC has no header: no LED pins, no reset button (the Pi's default profile would look for its gpiochip).
  await writeFile(`${root}/usr/lib/yubin/defaults/config.json`, boardConfigJson(target.arch === 'x64' ? { 'board.profile': 'x86' } : {}));
  // What /usr/lib/yubin/prepare reports at each start (the upgrade test tells v1 from v2 by it).
  await writeFile(`${root}/usr/lib/yubin/release`, `${options.release}\n`);
  if (target.abSlots) {
    await writeRaucConfig(root, target, options.key.cert);
    // No root line: the slot GRUB chose is mounted by the kernel (root=PARTUUID=…), read-only;
    // the FAT is mounted writable for RAUC's grub-editenv.
    const fstab = (await readFile(`${root}/etc/fstab`, 'utf8')).split('\n').filter((l) => !/^LABEL=yubin-root\s/.test(l))
      .map((l) => l.replace(/^LABEL=yubin-boot(\s+\/boot\/firmware\s+vfat\s+)ro,noauto,nofail/, `PARTUUID=${DISK_ID}-01$1rw,noatime,nofail,flush`)).join('\n');
    await writeFile(`${root}/etc/fstab`, fstab);
    const triplet = target.debianArch === 'amd64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
    for (const path of abLeftovers) await rm(`${root}/${path.replace('@TRIPLET@', triplet)}`, { recursive: true, force: true });
    for (const dir of ['usr/bin', 'usr/sbin']) for (const f of await readdir(`${root}/${dir}`)) if (abLeftoverBinaries.test(f)) await rm(`${root}/${dir}/${f}`, { force: true });
  }
  await mkdir(`${root}/data`, { recursive: true });
  await mkdir(`${root}/boot/firmware`, { recursive: true });
  // Empty machine-id: systemd makes a transient one on each boot of the read-only root.
  await truncate(`${root}/etc/machine-id`, 0).catch(() => writeFile(`${root}/etc/machine-id`, ''));
  await rm(`${root}/var/lib/dbus/machine-id`, { force: true });
  await symlink('/etc/machine-id', `${root}/var/lib/dbus/machine-id`).catch(() => undefined);
  await rm(`${root}/etc/resolv.conf`, { force: true });
  await symlink('../run/systemd/resolve/stub-resolv.conf', `${root}/etc/resolv.conf`);
  const units = `${root}/etc/systemd/system`;
  for (const unit of masked) {
    await rm(`${units}/${unit}`, { force: true });
    await symlink('/dev/null', `${units}/${unit}`);
  }
  for (const [wants, unit] of enabled) {
    await mkdir(`${units}/${wants}`, { recursive: true });
    const link = `${units}/${wants}/${unit.split('/').at(-1)}`;
    await rm(link, { force: true });
    await symlink(unit, link);
  }
  const [kernel] = await readdir(`${root}/lib/modules`);
  if (kernel === undefined) throw new Error('no kernel in the Debian root');
  if (target.modules) {
    const { kept, total } = await pruneModules(root, kernel, target.modules);
    console.log(`image: kernel modules: ${kept} of ${total} kept`);
  } else {
    for (const dir of unneededModules) await rm(`${root}/lib/modules/${kernel}/kernel/${dir}`, { recursive: true, force: true });
    await run('depmod', ['-b', root, kernel]);
  }
  const triplet = target.debianArch === 'amd64' ? 'x86_64-linux-gnu' : 'aarch64-linux-gnu';
  for (const path of unneededFiles) await rm(`${root}/${path.replace('@TRIPLET@', triplet)}`, { recursive: true, force: true });
  for (const dir of ['var/cache', 'var/log', 'var/tmp']) {
    await rm(`${root}/${dir}`, { recursive: true, force: true });
    await mkdir(`${root}/${dir}`, { recursive: true });
  }
}

/** Kernel, initrd and the loader's files for the FAT boot partition (path → name on the FAT). */
async function bootFiles(root: string, target: Target, bootDir: string): Promise<Array<[string, string]>> {
  const [kernel] = await readdir(`${root}/lib/modules`);
  await rm(bootDir, { recursive: true, force: true });
  await mkdir(bootDir, { recursive: true });
  if (target.abSlots) {
    // Each slot boots its own kernel, under names the loader knows: x86-64's stay in the root (GRUB
    // reads squashfs), arm64's go to the FAT (ubootFiles).
    await rename(`${root}/boot/vmlinuz-${kernel}`, `${root}/boot/vmlinuz`);
    await rename(`${root}/boot/initrd.img-${kernel}`, `${root}/boot/initrd.img`);
    for (const f of await readdir(`${root}/boot`)) if (!['firmware', 'vmlinuz', 'initrd.img'].includes(f)) await rm(`${root}/boot/${f}`, { recursive: true, force: true });
    for (const link of ['vmlinuz', 'vmlinuz.old', 'initrd.img', 'initrd.img.old']) await rm(`${root}/${link}`, { force: true });
    if (target.arch === 'arm64') return ubootFiles(root, target, kernel!, bootDir);
    await writeFile(`${bootDir}/grub.cfg`, grubCfg(target));
    await makeGrubenv(`${bootDir}/grubenv`);
    return [[`${bootDir}/grub.cfg`, 'grub/grub.cfg'], [`${bootDir}/grubenv`, 'grub/grubenv']];
  }
  // Out of the root: the FAT is where the loader finds them, and the root stays smaller.
  await rename(`${root}/boot/vmlinuz-${kernel}`, `${bootDir}/vmlinuz`);
  await rename(`${root}/boot/initrd.img-${kernel}`, `${bootDir}/initrd.img`);
  for (const f of await readdir(`${root}/boot`)) if (f !== 'firmware') await rm(`${root}/boot/${f}`, { recursive: true, force: true });
  const files: Array<[string, string]> = [[`${bootDir}/vmlinuz`, 'vmlinuz'], [`${bootDir}/initrd.img`, 'initrd.img']];
  files.push([`${imageRoot}/files/boot-x64/syslinux.cfg`, 'syslinux.cfg']);
  return files;
}

/**
 * The arm64 FAT (image/lib/slots.ts): the Pi firmware, which starts U-Boot (config.txt), the DTBs
 * of the boards we support, U-Boot for the Pi and for qemu virt (the boot test's -bios; the Pi
 * ignores it), boot.scr, uboot.env, and slot A's kernel and initrd. Moved out of the root: at run
 * time nothing reads the root's copies (raspi-firmware's, every DTB of the kernel package, the
 * kernel and initrd raspi-firmware's hooks put in /boot/firmware, the U-Boot builds).
 */
async function ubootFiles(root: string, target: Target, kernel: string, bootDir: string): Promise<Array<[string, string]>> {
  const files: Array<[string, string]> = [];
  const keep = async (from: string, name: string) => {
    await cp(from, `${bootDir}/${name}`);
    files.push([`${bootDir}/${name}`, name]);
  };
  // Not the camera (x) and debug (db) builds of the GPU firmware (start4x.elf, start_x.elf, …):
  // only start_x=1 or start_debug=1 in config.txt load them.
  for (const f of await readdir(`${root}/usr/lib/raspi-firmware`)) if (!/^(start(4|_)(x|db)\.elf|fixup(4|_)(x|db)\.dat)$/.test(f)) await keep(`${root}/usr/lib/raspi-firmware/${f}`, f);
  const dtbs = `${root}/usr/lib/linux-image-${kernel}/broadcom`;
  for (const f of await readdir(dtbs)) if (/^bcm(2710|2711|2837)-.*\.dtb$/.test(f)) await keep(`${dtbs}/${f}`, f);
  await keep(`${root}/usr/lib/u-boot/rpi_arm64/u-boot.bin`, 'u-boot.bin');
  await keep(`${root}/usr/lib/u-boot/qemu_arm64/u-boot.bin`, 'u-boot-qemu.bin');
  await keep(`${imageRoot}/files/boot-arm64/config.txt`, 'config.txt');
  // gzip'd (11 of 33 MiB; booti unpacks it, boot.scr sets kernel_comp_addr_r): two kernels, two
  // initrds and the copy an upgrade writes before its rename must fit the FAT (unpacked, the second
  // upgrade's post-install handler found it full).
  // Moved, not copied: the slot's squashfs does not carry them (nothing reads them there; the
  // bundle carries them beside the root image, see bundleFiles).
  await run('gzip', ['-9', '-n', `${root}/boot/vmlinuz`]);
  for (const [from, name] of [['vmlinuz.gz', 'kernel-A'], ['initrd.img', 'initrd-A']] as const) {
    await rename(`${root}/boot/${from}`, `${bootDir}/${name}`);
    files.push([`${bootDir}/${name}`, name]);
  }
  files.push([await makeBootScr(target, bootDir), 'boot.scr']);
  await makeUbootEnv(`${bootDir}/${UBOOT_ENV}`);
  files.push([`${bootDir}/${UBOOT_ENV}`, UBOOT_ENV]);
  await writeFile(`${bootDir}/${UBOOT_ARGS}`, ubootArgsText());
  files.push([`${bootDir}/${UBOOT_ARGS}`, UBOOT_ARGS]);
  for (const path of ['usr/lib/raspi-firmware', `usr/lib/linux-image-${kernel}`, 'usr/lib/u-boot', 'usr/share/u-boot']) await rm(`${root}/${path}`, { recursive: true, force: true });
  for (const f of await readdir(`${root}/boot/firmware`)) await rm(`${root}/boot/firmware/${f}`, { recursive: true, force: true });
  return files;
}

export interface BuildResult {
  image: string;
  rawBytes: number;
  xzBytes: number | null;
  /** The signed bundle of the same root (A/B targets). */
  bundle: string | null;
  rootMiB: number;
  seconds: string;
}

export interface BuildOptions {
  xz: boolean;
  /** What /usr/lib/yubin/release says (default: the package version). */
  release?: string;
  key?: SigningKey;
  /** Work folder (default image/out/<arch>); the upgrade test builds its v2 elsewhere. */
  work?: string;
}

/** The appliance's root for `target` in `work`/root, and the FAT's files: Debian, Node, the firmware. */
export interface BuiltRoot {
  root: string;
  /** The FAT's files (path → name on the FAT). */
  boot: Array<[string, string]>;
  /** Files an upgrade bundle carries beside the root image (path → name in the bundle): on arm64 the slot's kernel and initrd, which RAUC's post-install handler puts on the FAT. */
  bundleFiles: Array<[string, string]>;
}

export async function buildRoot(target: Target, options: { release: string; key: SigningKey; work: string }): Promise<BuiltRoot> {
  const { work } = options;
  await mkdir(work, { recursive: true });
  const bundle = await bundleFirmware({ target, entry: `${repoRoot}/firmware/yubin.ts`, out: `${work}/app` });
  console.log(`image: firmware bundle ${(bundle.bundleBytes / 1024).toFixed(0)} KiB, Node ${bundle.nodeVersion}`);
  const tarball = await debianRoot(target);
  const root = `${work}/root`;
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  await run('tar', ['-xpf', tarball, '-C', root, '--numeric-owner']);
  const boot = await bootFiles(root, target, `${work}/boot`);
  await customizeRoot(root, target, `${work}/app`, options);
  const bundleFiles = boot.filter(([, name]) => name === 'kernel-A' || name === 'initrd-A').map(([path, name]): [string, string] => [path, name.replace(/-A$/, '')]);
  return { root, boot, bundleFiles };
}

/** The root slot image: squashfs (xz; the root is read-only anyway), refused when it outgrows its slot. */
export async function slotImage(root: string, file: string, target: Target): Promise<number> {
  const bytes = await makeSquashfs(file, root, target);
  if (bytes > SLOT_MIB * MiB) throw new Error(`root image ${(bytes / MiB).toFixed(1)} MiB does not fit a ${SLOT_MIB} MiB slot`);
  return bytes;
}

export async function buildImage(target: Target, options: BuildOptions): Promise<BuildResult> {
  const start = performance.now();
  const work = options.work ?? `${outDir}/${target.arch}`;
  const release = options.release ?? VERSION;
  const key = options.key ?? (await signingKey());
  if (target.abSlots && key.development) console.log(`image: signing with the DEVELOPMENT key ${key.cert} (give --cert/--key for a release)`);
  const { root, boot, bundleFiles } = await buildRoot(target, { release, key, work });

  const bootFat = `${work}/boot.vfat`;
  // arm64: the Pi firmware, two kernels and initrds (one per slot) and U-Boot need the larger FAT.
  const bootMiB = target.abSlots && target.arch === 'x64' ? BOOT_MIB_X64 : bootSizeMiB;
  await makeFat(bootFat, bootMiB, 'yubin-boot', boot);
  let mbr: string | undefined;
  let core: string | undefined;
  if (target.abSlots && target.arch === 'x64') {
    const grub = await grubBios(work);
    mbr = grub.bootImg;
    core = grub.coreImg;
  } else if (target.arch === 'x64') {
    // BIOS boot: syslinux's loader on the FAT (installed through mtools, no mount) and its MBR code.
    await run('syslinux', ['--install', bootFat]);
    mbr = '/usr/lib/syslinux/mbr/mbr.bin';
  }
  let rootMiB: number;
  let rootPart: Partition[];
  let bundle: string | null = null;
  if (target.abSlots) {
    const slot = `${work}/root.img`;
    const bytes = await slotImage(root, slot, target);
    rootMiB = Math.round((bytes / MiB) * 10) / 10;
    rootPart = [{ file: slot, type: '83', sizeMiB: SLOT_MIB }, { file: null, type: '83', sizeMiB: SLOT_MIB }];
    bundle = await makeBundle({ rootImage: slot, files: bundleFiles, compatible: compatible(target), version: release, key, out: bundlePath(target), work });
    console.log(`image: bundle ${bundle} (${((await stat(bundle)).size / MiB).toFixed(1)} MiB, ${compatible(target)} ${release})`);
  } else {
    rootMiB = await makeExt4(`${work}/root.ext4`, root, 'yubin-root', { slackMiB: 16, journal: false });
    rootPart = [{ file: `${work}/root.ext4`, type: '83' }];
  }
  const emptyData = `${work}/data-empty`;
  await rm(emptyData, { recursive: true, force: true });
  await mkdir(emptyData);
  await makeExt4(`${work}/data.ext4`, emptyData, 'yubin-data', { slackMiB: 0, journal: true, minMiB: dataSizeMiB });
  const image = imagePath(target);
  const rawBytes = await assembleDisk(image, [
    // FAT16 (x86-64's 16 MiB) or FAT32 (arm64: the Pi's boot ROM reads either type).
    { file: bootFat, type: bootMiB < 64 ? 'e' : 'c', bootable: true },
    ...rootPart,
    { file: `${work}/data.ext4`, type: '83' },
  ], { ...(mbr ? { mbrCode: mbr } : {}), ...(core ? { coreImg: core } : {}), ...(target.abSlots ? { diskId: DISK_ID } : {}) });
  const layout = target.abSlots ? `boot ${bootMiB}, slots A and B ${SLOT_MIB} each (root image ${rootMiB} MiB in A, B empty)` : `boot ${bootSizeMiB}, root ${rootMiB}`;
  console.log(`image: ${image} raw ${(rawBytes / MiB).toFixed(0)} MiB (${layout}, data ${dataSizeMiB} MiB, grows on first boot)`);
  let xzBytes: number | null = null;
  if (options.xz) {
    const xzStart = performance.now();
    await rm(`${image}.xz`, { force: true });
    await run('xz', ['-T0', '-6', '-k', '-f', image]);
    xzBytes = (await stat(`${image}.xz`)).size;
    console.log(`image: ${image}.xz ${(xzBytes / MiB).toFixed(1)} MiB (xz in ${secondsSince(xzStart)} s)`);
  }
  const seconds = secondsSince(start);
  console.log(`image: built in ${seconds} s`);
  return { image, rawBytes, xzBytes, bundle, rootMiB, seconds };
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  try {
    if (process.getuid?.() !== 0) throw new Error('must run as root (mmdebstrap and mke2fs -d keep file owners only as root)');
    const target = targets[parseArch(option(argv, '--arch'))];
    const abTools = ['mksquashfs', 'rauc', 'openssl', ...(target.arch === 'x64' ? ['grub-mkimage', 'grub-editenv'] : ['mkimage'])];
    for (const tool of ['mmdebstrap', 'depmod', 'mkfs.vfat', 'mcopy', 'mke2fs', 'sfdisk', 'xz', ...(target.abSlots ? abTools : target.arch === 'x64' ? ['syslinux'] : [])]) {
      await run('sh', ['-c', `command -v ${tool}`]).catch(() => {
        throw new Error(`${tool} not found: install the Debian packages listed in image/README.md`);
      });
    }
    const cert = option(argv, '--cert');
    const key = option(argv, '--key');
    await buildImage(target, { xz: !argv.includes('--no-xz'), key: await signingKey({ cert, key }), ...(option(argv, '--release') ? { release: option(argv, '--release')! } : {}) });
  } catch (err) {
    console.error(`image: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
