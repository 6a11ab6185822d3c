// One encrypted backup file: an `age` file (age-encryption.org/v1, passphrase through scrypt;
// the npm age-encryption package) whose plaintext is a POSIX tar holding `data/…` (the files
// contents.ts selects) and, last, `manifest.json` (what is inside, with a SHA-256 and size per
// file). An owner can open it without Yubin: `age -d backup.age | tar -t`.
//
// Restore validates everything before it changes anything: the file decrypts and authenticates
// to its end (age's STREAM catches a truncated or altered file), every path is one a backup may
// hold, every file matches the manifest and nothing else is there, and the configuration loads.
// Only then are the folders swapped in by renames; until then DATA is untouched.
import { createHash, randomBytes } from 'node:crypto';
import { open, mkdir, rm, readFile, rename, readdir, lstat, chmod, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dirname, join, basename } from 'node:path';
import { Encrypter, Decrypter } from 'age-encryption';
import { Header, Pax, extract } from 'tar';
import { fsyncDir } from '../files/durable.ts';
import { ConfigStore, type Db } from '../config/store.ts';
import { selectFiles, allowedPath, replacedRoots, type Part } from './contents.ts';

export const FORMAT = 'yubin-backup';
/** The manifest's version; restore reads this one and the one before it (MIGRATIONS). */
export const MANIFEST_VERSION = 1;
/**
 * scrypt work factor (log2 N) for new backups: 2^16 × r 8 = 64 MiB and ~0.3 s on a PC, a few
 * seconds on a Pi. age's own default, 18, needs 256 MiB: too much beside the firmware on a
 * 512 MiB board. Restore accepts up to 20 (the library's limit), so backups made with the age
 * tool open too.
 */
export const SCRYPT_LOG_N = 16;

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: typeof FORMAT;
  version: number;
  created: string;
  firmware: string;
  hostname: string;
  parts: Part[];
  /** config.json's own schema version (Db.version). */
  configVersion: number;
  files: ManifestFile[];
}

/** A backup that cannot be used, with what the owner must hear; nothing was changed. */
export class BackupError extends Error {}

export interface CreateOptions {
  passphrase: string;
  withMail: boolean;
  firmware: string;
  workFactor?: number;
}

export interface BackupSummary {
  file: string;
  bytes: number;
  files: number;
  plainBytes: number;
  manifest: Manifest;
}

const BLOCK = 512;
const CHUNK = 64 * 1024;

function tarHeader(path: string, size: number, mtime: Date): Buffer {
  const fields = { path, mode: 0o600, uid: 0, gid: 0, size, mtime, type: 'File' as const, uname: '', gname: '' };
  const header = new Header(fields);
  const needPax = header.encode();
  const block = header.block!;
  // Paths over ustar's 100/155 bytes (deep Maildir names) go in a pax extended header first.
  return needPax ? Buffer.concat([new Pax(fields).encode(), block]) : block;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** The tar stream of the selected files, hashing each as it is read; the manifest goes last. */
async function* tarStream(dataDir: string, parts: Part[], manifest: Manifest, counter: { plain: number }): AsyncGenerator<Buffer> {
  const emit = (b: Buffer) => {
    counter.plain += b.length;
    return b;
  };
  for (const entry of await selectFiles(dataDir, parts)) {
    let handle;
    try {
      handle = await open(join(dataDir, entry.path), 'r');
    } catch (err) {
      // A message moved from new/ to cur/ (or expired) between the listing and now: not an error.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    try {
      const st = await handle.stat();
      // A file that grows while it is read is taken at the size it had when opened.
      const size = st.size;
      yield emit(tarHeader(`data/${entry.path}`, size, st.mtime));
      const hash = createHash('sha256');
      let done = 0;
      while (done < size) {
        const buf = Buffer.alloc(Math.min(CHUNK, size - done));
        const { bytesRead } = await handle.read(buf, 0, buf.length, done);
        if (bytesRead === 0) throw new Error(`${entry.path} shrank while it was backed up; try again`);
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        done += bytesRead;
        yield emit(chunk);
      }
      yield emit(padding(size));
      manifest.files.push({ path: entry.path, size, sha256: hash.digest('hex') });
    } finally {
      await handle.close();
    }
  }
  const body = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
  yield emit(tarHeader('manifest.json', body.length, new Date(manifest.created)));
  yield emit(body);
  yield emit(padding(body.length));
  yield emit(Buffer.alloc(2 * BLOCK));
}

/** Write an encrypted backup of `dataDir` to `file` (temp file, fsync, rename: never half a file). */
export async function createBackup(dataDir: string, file: string, options: CreateOptions): Promise<BackupSummary> {
  if (options.passphrase === '') throw new BackupError('an empty passphrase protects nothing');
  const db = JSON.parse(await readFile(join(dataDir, 'config.json'), 'utf8').catch(() => {
    throw new BackupError(`${join(dataDir, 'config.json')} not found: nothing to back up`);
  })) as Db;
  const parts: Part[] = options.withMail ? ['settings', 'mail'] : ['settings'];
  const manifest: Manifest = {
    format: FORMAT,
    version: MANIFEST_VERSION,
    created: new Date().toISOString(),
    firmware: options.firmware,
    hostname: typeof db.settings?.hostname === 'string' ? db.settings.hostname : 'yubin.localdomain',
    parts,
    configVersion: db.version,
    files: [],
  };
  const counter = { plain: 0 };
  const encrypter = new Encrypter();
  encrypter.setPassphrase(options.passphrase);
  encrypter.setScryptWorkFactor(options.workFactor ?? SCRYPT_LOG_N);
  const plain = Readable.toWeb(Readable.from(tarStream(dataDir, parts, manifest, counter))) as ReadableStream<Uint8Array>;
  const sealed = await encrypter.encrypt(plain);
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  let out;
  try {
    await mkdir(dir, { recursive: true });
    out = await open(tmp, 'w', 0o600);
  } catch (err) {
    throw new BackupError(whereProblem(dir, err as NodeJS.ErrnoException));
  }
  let bytes = 0;
  try {
    try {
      for await (const chunk of Readable.fromWeb(sealed as import('node:stream/web').ReadableStream<Uint8Array>)) {
        const b = chunk as Uint8Array;
        let off = 0;
        while (off < b.length) off += (await out.write(b, off, b.length - off)).bytesWritten;
        bytes += b.length;
      }
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new BackupError(whereProblem(dir, err as NodeJS.ErrnoException));
    throw err;
  }
  await fsyncDir(dir);
  return { file, bytes, files: manifest.files.length, plainBytes: counter.plain, manifest };
}

/** Where a backup cannot go, in the owner's words (the usual cause: no USB stick in /media/usb). */
function whereProblem(dir: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EROFS': return `${dir} is read-only: is a USB stick plugged in? (the board image mounts one at /media/usb)`;
    case 'ENOSPC': return `${dir} is full: nothing written (free some space or use a bigger stick)`;
    case 'EACCES': case 'EPERM': return `${dir} is not writable for Yubin`;
    case 'ENOTDIR': case 'EEXIST': return `${dir} is not a folder`;
    default: return `cannot write into ${dir}: ${err.message}`;
  }
}

// --- restore -------------------------------------------------------------------------------------

export interface RestoreSummary {
  manifest: Manifest;
  /** DATA's top-level names that were replaced. */
  replaced: string[];
  /** Files merged into DATA/quarantine. */
  merged: number;
}

/**
 * Manifests of older versions, made current: one step per version (the issue asks that a backup
 * opens across one major version). Version 1 is the first; a later version adds its step here.
 */
const MIGRATIONS: Record<number, (m: Record<string, unknown>) => Record<string, unknown>> = {};

function checkManifest(raw: unknown): Manifest {
  if (typeof raw !== 'object' || raw === null) throw new BackupError('manifest.json is not an object');
  let m = raw as Record<string, unknown>;
  if (m.format !== FORMAT) throw new BackupError(`not a Yubin backup (manifest format ${JSON.stringify(m.format)})`);
  if (typeof m.version !== 'number') throw new BackupError('manifest.json has no version');
  if (m.version > MANIFEST_VERSION) throw new BackupError(`backup version ${m.version} is newer than this firmware reads (${MANIFEST_VERSION}): upgrade the firmware first`);
  while ((m.version as number) < MANIFEST_VERSION) {
    const step = MIGRATIONS[m.version as number];
    if (!step) throw new BackupError(`backup version ${m.version} is too old for this firmware (it reads ${MANIFEST_VERSION - 1} and ${MANIFEST_VERSION})`);
    m = step(m);
  }
  const files = m.files;
  if (!Array.isArray(files) || !Array.isArray(m.parts)) throw new BackupError('manifest.json lists no files');
  for (const f of files as ManifestFile[]) {
    if (typeof f?.path !== 'string' || typeof f.size !== 'number' || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) {
      throw new BackupError(`manifest.json has a bad entry: ${JSON.stringify(f)}`);
    }
    if (allowedPath(f.path) === null) throw new BackupError(`manifest.json names ${JSON.stringify(f.path)}, which a backup may not hold`);
  }
  return m as unknown as Manifest;
}

/** Every regular file under `dir` (relative paths); anything that is not a file or folder is refused. */
async function listTree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listTree(dir, rel)));
    else if (e.isFile()) out.push(rel);
    else throw new BackupError(`the backup holds ${rel}, which is not a regular file`);
  }
  return out;
}

async function hashAndSync(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(createReadStream(path), async function* (source) {
    for await (const chunk of source) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  });
  await chmod(path, 0o600);
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { size, sha256: hash.digest('hex') };
}

async function readHead(file: string, bytes: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead).toString('latin1');
  } finally {
    await handle.close();
  }
}

async function decryptTo(file: string, passphrase: string, staging: string): Promise<void> {
  const head = await readHead(file, 64).catch((err: NodeJS.ErrnoException) => {
    throw new BackupError(err.code === 'ENOENT' ? `${file} not found` : `${file} cannot be read: ${err.message}`);
  });
  if (!head.startsWith('age-encryption.org/v1\n')) throw new BackupError(`${file} is not a Yubin backup (not an age-encrypted file)`);
  const decrypter = new Decrypter();
  decrypter.addPassphrase(passphrase);
  let plain: ReadableStream<Uint8Array>;
  try {
    plain = await decrypter.decrypt(Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>);
  } catch (err) {
    const message = (err as Error).message;
    if (/identit|passphrase|scrypt/i.test(message) && head.includes('\n-> scrypt ')) throw new BackupError('wrong passphrase: the backup was not changed or read');
    throw new BackupError(`${file} is damaged or not a Yubin backup: ${message}`);
  }
  // Only files and folders, only under data/ or the manifest; tar also refuses absolute paths and `..`.
  let refused: string | undefined;
  try {
    await pipeline(
      Readable.fromWeb(plain as import('node:stream/web').ReadableStream<Uint8Array>),
      extract({
        cwd: staging,
        strict: true,
        preserveOwner: false,
        noChmod: true,
        filter: (path, entry) => {
          const type = 'type' in entry ? entry.type : 'File';
          const ok = (type === 'File' || type === 'Directory') && (path === 'manifest.json' || path === 'data' || path === 'data/' ||
            (path.startsWith('data/') && (type === 'Directory' || allowedPath(path.slice(5)) !== null)));
          if (!ok) refused ??= path;
          return ok;
        },
      }),
    );
  } catch (err) {
    if (err instanceof BackupError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOSPC') throw new BackupError('not enough free space on the data partition to check the backup before restoring it');
    throw new BackupError(`the backup is damaged (${e.message}); nothing was changed`);
  }
  if (refused !== undefined) throw new BackupError(`the backup holds ${JSON.stringify(refused)}, which a Yubin backup may not; nothing was changed`);
}

/** Read and check a backup completely into a staging folder of DATA; the caller swaps it in or removes it. */
async function stage(dataDir: string, file: string, passphrase: string): Promise<{ staging: string; manifest: Manifest }> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const staging = join(dataDir, `.restore-${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { mode: 0o700 });
  try {
    await decryptTo(file, passphrase, staging);
    const text = await readFile(join(staging, 'manifest.json'), 'utf8').catch(() => {
      throw new BackupError('the backup has no manifest.json: it is incomplete or not a Yubin backup');
    });
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new BackupError('manifest.json is not valid JSON');
    }
    const manifest = checkManifest(raw);
    const data = join(staging, 'data');
    await mkdir(data, { recursive: true, mode: 0o700 });
    const present = new Set(await listTree(data));
    for (const f of manifest.files) {
      if (!present.delete(f.path)) throw new BackupError(`${f.path} is in the manifest but not in the backup`);
      const got = await hashAndSync(join(data, f.path));
      if (got.size !== f.size || got.sha256 !== f.sha256) throw new BackupError(`${f.path} does not match its checksum in the manifest: the backup is damaged`);
    }
    if (present.size > 0) throw new BackupError(`the backup holds files its manifest does not list: ${[...present].slice(0, 3).join(', ')}`);
    if (!manifest.files.some((f) => f.path === 'config.json')) throw new BackupError('the backup holds no config.json');
    // The configuration must load here (settings checked key by key, renamed keys read under their new name).
    try {
      const store = await ConfigStore.open(data);
      store.close();
    } catch (err) {
      throw new BackupError(`the backup's configuration cannot be used by this firmware: ${(err as Error).message}`);
    }
    for (const dir of await dirsOf(data)) await fsyncDir(dir);
    return { staging, manifest };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

async function dirsOf(root: string): Promise<string[]> {
  const out = [root];
  for (const e of await readdir(root, { withFileTypes: true })) if (e.isDirectory()) out.push(...(await dirsOf(join(root, e.name))));
  await chmod(root, 0o700);
  return out;
}

/** Check a backup without restoring it: decrypts, checks every file against the manifest. */
export async function verifyBackup(dataDir: string, file: string, passphrase: string): Promise<Manifest> {
  const { staging, manifest } = await stage(dataDir, file, passphrase);
  await rm(staging, { recursive: true, force: true });
  return manifest;
}

/**
 * Restore a backup into `dataDir`. Settings (config.json, secrets, dkim, tls) and, when the
 * backup has mail, mail/ and archive/ are replaced whole; quarantine records are merged. Whatever
 * the backup does not hold stays as it is (a settings-only backup keeps the mail on the board).
 * The firmware must be restarted afterwards to use it (the console's restore does so).
 */
export async function restoreBackup(dataDir: string, file: string, passphrase: string): Promise<RestoreSummary> {
  const { staging, manifest } = await stage(dataDir, file, passphrase);
  const data = join(staging, 'data');
  const old = join(dataDir, `.restore-old-${randomBytes(4).toString('hex')}`);
  const replaced: string[] = [];
  let merged = 0;
  // Renames only, each undone in reverse order should one fail: DATA ends as before or as restored.
  const undo: Array<() => Promise<void>> = [];
  try {
    await mkdir(old, { mode: 0o700 });
    for (const name of replacedRoots(manifest.parts)) {
      const current = join(dataDir, name);
      if (await lstat(current).catch(() => null)) {
        await rename(current, join(old, name));
        undo.push(() => rename(join(old, name), current));
      }
      if (await lstat(join(data, name)).catch(() => null)) {
        await rename(join(data, name), current);
        undo.push(() => rename(current, join(data, name)));
      }
      replaced.push(name);
    }
    const quarantine = join(data, 'quarantine');
    if (await stat(quarantine).catch(() => null)) {
      const into = join(dataDir, 'quarantine');
      await mkdir(into, { recursive: true, mode: 0o700 });
      for (const name of await readdir(quarantine)) {
        await rename(join(quarantine, name), join(into, name));
        merged += 1;
      }
      await fsyncDir(into);
    }
    await fsyncDir(dataDir);
  } catch (err) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    await fsyncDir(dataDir).catch(() => undefined);
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  await rm(staging, { recursive: true, force: true });
  await rm(old, { recursive: true, force: true });
  return { manifest, replaced, merged };
}
