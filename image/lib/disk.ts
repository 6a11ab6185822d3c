// Disk layout without loop mounts: each partition is made as a file (mkfs.vfat + mtools,
// mke2fs -d), then placed into one raw image behind an MBR written by sfdisk.
// MBR rather than GPT: the Pi 3 boot ROM reads only MBR.
import { open, stat, rm } from 'node:fs/promises';
import { run } from './run.ts';

export const MiB = 1024 * 1024;
/** First partition at 4 MiB: erase-block aligned on SD cards. */
const firstOffset = 4 * MiB;

export interface Partition {
  /** The file system image to place; null: an empty partition (a root slot not yet written). */
  file: string | null;
  /** MBR type: c = FAT32 LBA, e = FAT16 LBA, 83 = Linux. */
  type: 'c' | 'e' | '83';
  bootable?: boolean;
  /** The partition's size when it is to be larger than its file (a root slot); default the file's size. */
  sizeMiB?: number;
}

/** A FAT boot partition of `sizeMiB` holding `files` (local path → name in the root of the FAT). */
export async function makeFat(file: string, sizeMiB: number, label: string, files: ReadonlyArray<readonly [string, string]>): Promise<void> {
  await rm(file, { force: true });
  // FAT32 needs at least ~33 MiB; a smaller boot partition (GRUB's files only) is FAT16.
  await run('mkfs.vfat', ['-F', sizeMiB >= 64 ? '32' : '16', '-n', label.toUpperCase(), '-C', file, String(sizeMiB * 1024)]);
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  const dirs = [...new Set(files.map(([, to]) => to.split('/').slice(0, -1).join('/')).filter(Boolean))];
  for (const dir of dirs) await run('mmd', ['-i', file, `::${dir}`], { env });
  for (const [from, to] of files) await run('mcopy', ['-i', file, '-o', '-s', from, `::${to}`], { env });
}

/** An ext4 file system filled from `dir`, sized to its contents plus `slackMiB`. */
export async function makeExt4(file: string, dir: string, label: string, options: { slackMiB: number; journal: boolean; minMiB?: number }): Promise<number> {
  const used = Number((await run('du', ['-s', '--block-size=1', dir])).split('\t')[0]);
  // ext4 metadata (inode tables, bitmaps) costs about 6% on small file systems.
  const sizeMiB = Math.max(options.minMiB ?? 0, Math.ceil((used * 1.1) / MiB / 4) * 4 + options.slackMiB);
  await rm(file, { force: true });
  await run('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', label, '-m', '0', '-O', options.journal ? 'has_journal' : '^has_journal',
    '-E', 'root_owner=0:0', '-d', dir, file, `${sizeMiB}M`]);
  return sizeMiB;
}

/**
 * A squashfs image of `dir` (xz, 1 MiB blocks: ~4 % smaller than 256 KiB); returns its size in bytes. x86-64 adds the
 * x86 branch filter; arm64 none: xz's "arm" filter is for 32-bit ARM code, and Debian's arm64 kernel (6.1) cannot
 * decode it (SQUASHFS error: xz decompression failed) nor has the arm64 one.
 */
export async function makeSquashfs(file: string, dir: string, target: { arch: 'x64' | 'arm64' }, options: { fast?: boolean } = {}): Promise<number> {
  await rm(file, { force: true });
  // fast: gzip, several times quicker to make and larger (the upgrade test's throwaway bundles).
  const comp = options.fast ? ['-comp', 'gzip'] : ['-comp', 'xz', ...(target.arch === 'x64' ? ['-Xbcj', 'x86'] : []), '-b', '1M'];
  await run('mksquashfs', [dir, file, '-noappend', '-quiet', '-no-progress', ...comp]);
  return (await stat(file)).size;
}

export interface DiskOptions {
  /** Boot code for the MBR's first 440 bytes (syslinux's mbr.bin, GRUB's boot.img). */
  mbrCode?: string;
  /** GRUB's core.img, written from sector 1 into the gap before the first partition. */
  coreImg?: string;
  /** The MBR disk identifier (8 hex digits): partitions are then PARTUUID=<id>-0N. */
  diskId?: string;
}

/** Write an MBR disk of the given partitions (in order) to `image`; returns its size in bytes. */
export async function assembleDisk(image: string, parts: readonly Partition[], options: DiskOptions = {}): Promise<number> {
  const sizes = await Promise.all(parts.map(async (p) => (p.file === null ? 0 : (await stat(p.file)).size)));
  let offset = firstOffset;
  const layout = parts.map((p, i) => {
    const start = offset;
    if (p.sizeMiB !== undefined && sizes[i]! > p.sizeMiB * MiB) throw new Error(`${p.file} (${sizes[i]} bytes) is larger than its ${p.sizeMiB} MiB partition`);
    const size = p.sizeMiB !== undefined ? p.sizeMiB * MiB : Math.ceil(sizes[i]! / MiB) * MiB;
    offset += size;
    return { ...p, start, size };
  });
  const total = offset;
  await rm(image, { force: true });
  const handle = await open(image, 'w');
  await handle.truncate(total);
  await handle.close();
  const script = ['label: dos', ...(options.diskId ? [`label-id: 0x${options.diskId}`] : []), 'unit: sectors',
    ...layout.map((p) => `start=${p.start / 512}, size=${p.size / 512}, type=${p.type}${p.bootable ? ', bootable' : ''}`)].join('\n') + '\n';
  await run('sfdisk', ['-q', image], { input: script });
  if (options.mbrCode) await run('dd', [`if=${options.mbrCode}`, `of=${image}`, 'bs=440', 'count=1', 'conv=notrunc', 'status=none']);
  if (options.coreImg) {
    const coreBytes = (await stat(options.coreImg)).size;
    if (512 + coreBytes > firstOffset) throw new Error(`GRUB's core.img (${coreBytes} bytes) does not fit before the first partition`);
    await run('dd', [`if=${options.coreImg}`, `of=${image}`, 'bs=512', 'seek=1', 'conv=notrunc', 'status=none']);
  }
  for (const p of layout) {
    if (p.file === null) continue;
    await run('dd', [`if=${p.file}`, `of=${image}`, 'bs=4M', `seek=${p.start}`, 'oflag=seek_bytes', 'conv=notrunc,sparse', 'status=none']);
  }
  return total;
}

export interface PartitionEntry {
  number: number;
  startBytes: number;
  sizeBytes: number;
}

/** The partitions of a raw image as sfdisk reads them. */
export async function partitions(image: string): Promise<PartitionEntry[]> {
  const table = JSON.parse(await run('sfdisk', ['-J', image])) as { partitiontable: { partitions: Array<{ node: string; start: number; size: number }> } };
  return table.partitiontable.partitions.map((p, i) => ({ number: i + 1, startBytes: p.start * 512, sizeBytes: p.size * 512 }));
}

/** Overwrite partition `number` of `image` with the file system image `file` (which must fit). */
export async function writePartition(image: string, number: number, file: string): Promise<void> {
  const part = (await partitions(image)).find((p) => p.number === number);
  if (!part) throw new Error(`${image} has no partition ${number}`);
  const size = (await stat(file)).size;
  if (size > part.sizeBytes) throw new Error(`${file} (${size} bytes) does not fit partition ${number} (${part.sizeBytes} bytes)`);
  await run('dd', [`if=${file}`, `of=${image}`, 'bs=4M', `seek=${part.startBytes}`, 'oflag=seek_bytes', 'conv=notrunc', 'status=none']);
}

/** mtools address of the FAT in partition 1 of a raw image. */
export async function fatOf(image: string): Promise<string> {
  const part = (await partitions(image))[0];
  if (!part) throw new Error(`${image} has no partitions`);
  return `${image}@@${part.startBytes}`;
}
