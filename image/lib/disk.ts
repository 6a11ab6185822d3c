// Disk layout without loop mounts: each partition is made as a file (mkfs.vfat + mtools,
// mke2fs -d), then placed into one raw image behind an MBR written by sfdisk.
// MBR rather than GPT: the Pi 3 boot ROM reads only MBR.
import { open, stat, rm } from 'node:fs/promises';
import { run } from './run.ts';

export const MiB = 1024 * 1024;
/** First partition at 4 MiB: erase-block aligned on SD cards. */
const firstOffset = 4 * MiB;

export interface Partition {
  file: string;
  /** MBR type: c = FAT32 LBA, 83 = Linux. */
  type: 'c' | '83';
  bootable?: boolean;
}

/** A FAT boot partition of `sizeMiB` holding `files` (local path → name in the root of the FAT). */
export async function makeFat(file: string, sizeMiB: number, label: string, files: ReadonlyArray<readonly [string, string]>): Promise<void> {
  await rm(file, { force: true });
  await run('mkfs.vfat', ['-F', '32', '-n', label.toUpperCase(), '-C', file, String(sizeMiB * 1024)]);
  // Copy in batches: one mcopy per file would cost a second each on a busy machine.
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
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

/** Write an MBR disk of the given partitions (in order) to `image`; returns its size in bytes. */
export async function assembleDisk(image: string, parts: readonly Partition[], mbrCode?: string): Promise<number> {
  const sizes = await Promise.all(parts.map(async (p) => (await stat(p.file)).size));
  let offset = firstOffset;
  const layout = parts.map((p, i) => {
    const start = offset;
    const size = Math.ceil(sizes[i]! / MiB) * MiB;
    offset += size;
    return { ...p, start, size };
  });
  const total = offset;
  await rm(image, { force: true });
  const handle = await open(image, 'w');
  await handle.truncate(total);
  await handle.close();
  const script = ['label: dos', 'unit: sectors',
    ...layout.map((p) => `start=${p.start / 512}, size=${p.size / 512}, type=${p.type}${p.bootable ? ', bootable' : ''}`)].join('\n') + '\n';
  await run('sfdisk', ['-q', image], { input: script });
  if (mbrCode) await run('dd', [`if=${mbrCode}`, `of=${image}`, 'bs=440', 'count=1', 'conv=notrunc', 'status=none']);
  for (const p of layout) {
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
