// One streaming pass over a spooled message that reports, per MIME leaf part, its name, what its
// bytes really are, what a zip or attached message holds, and whether it is encrypted. Each part
// is decoded into memory when small (≤ 64 KiB) or a temp file (bounded) so zip archives can be read
// with random access (yauzl); nothing large is held whole in memory. The attachment and encrypted-content stages both read this.
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Entry, ZipFile } from 'yauzl';
import { newSplitter, partId, type MimeNode, type SplitItem } from './mime.ts';
import { sniff, readStart, fileContains, bufferContains, PDF_ENCRYPT, OFFICE_ENCRYPTED, PGP_ARMOR, type RealType } from '../encrypted/detect.ts';
import type { FileHead } from '../spool/head.ts';

export type EncryptedKind = 'zip' | 'pdf' | 'office' | 'pgp-inline' | 'pgp-mime' | 'smime';

export interface FileReport {
  /** Name as sent (file name parameter, zip entry name); '' when none. */
  name: string;
  realType: RealType | null;
  encrypted: EncryptedKind | null;
  /** Files inside a zip archive or an attached message. */
  entries: FileReport[];
  /** Why the contents could not be fully checked (too big, too deep, corrupt), else null. */
  unchecked: string | null;
}

export interface PartReport extends FileReport {
  /** Position in the MIME tree, "" for a single-part message, "2" / "1.3" below. */
  partId: string;
  contentType: string;
  size: number;
}

export interface Inspection {
  parts: PartReport[];
  /** How the message is signed: "multipart/signed", "smime-signed", "dkim", or null. */
  signed: string | null;
  /** Whole-message encryption, or null. */
  encrypted: 'pgp-mime' | 'smime' | null;
}

export interface InspectLimits {
  /** Most decoded bytes written per part or per extracted entry. */
  maxBytes: number;
  /** How deep zips in zips (and messages in messages) are opened. */
  depth: number;
  maxEntries: number;
  tmpRoot: string;
}

/**
 * Where a decoded part or zip entry is: in memory when small (most are), else in a temp file.
 * Reading a small part back from a file cost more system calls than everything else we do to it.
 */
type PartData = { kind: 'memory'; bytes: Buffer } | { kind: 'file'; path: string };

/** A decoded part up to this size stays in memory... */
const INLINE_BYTES = 64 * 1024;
/** ...while all the parts one inspection keeps in memory stay under this; the rest go to files. */
const INLINE_BUDGET = 256 * 1024;

/** The temp folder of one inspection, made only when a part is too big to keep in memory. */
class Scratch {
  readonly #root: string;
  #dir: Promise<string> | null = null;
  #n = 0;
  #inMemory = 0;
  constructor(root: string) {
    this.#root = root;
  }
  /** Room for `bytes` more in memory? Counted against the inspection's budget when there is. */
  reserve(bytes: number): boolean {
    if (this.#inMemory + bytes > INLINE_BUDGET) return false;
    this.#inMemory += bytes;
    return true;
  }
  async file(): Promise<string> {
    this.#dir ??= mkdir(this.#root, { recursive: true, mode: 0o700 }).then(() => mkdtemp(join(this.#root, 'inspect-')));
    return join(await this.#dir, `part-${this.#n++}`);
  }
  async remove(): Promise<void> {
    if (this.#dir) await rm(await this.#dir, { recursive: true, force: true });
  }
}

export async function inspectMessage(path: string, limits: InspectLimits, head?: FileHead): Promise<Inspection> {
  const scratch = new Scratch(limits.tmpRoot);
  try {
    const source: PartData = head?.whole ? { kind: 'memory', bytes: head.bytes } : { kind: 'file', path };
    return await walkMessage(source, limits, scratch, limits.depth);
  } finally {
    await scratch.remove();
  }
}

const readableOf = (data: PartData): Readable => (data.kind === 'memory' ? Readable.from([data.bytes]) : createReadStream(data.path));

async function walkMessage(source: PartData, limits: InspectLimits, scratch: Scratch, depth: number): Promise<Inspection> {
  const result: Inspection = { parts: [], signed: null, encrypted: null };
  const splitter = newSplitter();
  const feeding = pipeline(readableOf(source), splitter);
  let current: { node: MimeNode; decoder: Transform; done: Promise<void>; counter: Capped } | null = null;
  const finished: Array<{ node: MimeNode; sink: PartSink; counter: Capped }> = [];

  const close = async () => {
    if (!current) return;
    current.decoder.end();
    await current.done;
    current = null;
  };

  for await (const item of splitter as AsyncIterable<SplitItem>) {
    if (item.type === 'node') {
      await close();
      classifyNode(item, result);
      if (item.multipart) continue;
      const decoder = item.getDecoder();
      const counter = new Capped(limits.maxBytes);
      const sink = new PartSink(scratch);
      current = { node: item, decoder, counter, done: pipeline(decoder, counter, sink) };
      finished.push({ node: item, sink, counter });
    } else if (item.type === 'body' && current && item.node === current.node) {
      if (!current.decoder.write(item.value)) await new Promise((r) => current!.decoder.once('drain', r));
    }
  }
  await close();
  await feeding;

  for (const { node, sink, counter } of finished) {
    const contentType = node.contentType || 'text/plain';
    const name = node.filename || '';
    const data = sink.data();
    const report = await inspectFile(data, name, limits, scratch, depth, counter.truncated);
    if (contentType === 'message/rfc822' && depth > 0) {
      const inner = await walkMessage(data, limits, scratch, depth - 1);
      report.entries.push(...inner.parts);
      // An attached message that is itself encrypted is marked here; encrypted files in it stay on their entries.
      if (inner.encrypted) report.encrypted = inner.encrypted === 'smime' ? 'smime' : 'pgp-mime';
    }
    if (contentType.startsWith('text/') && report.encrypted === null && (await contains(data, [PGP_ARMOR]))) report.encrypted = 'pgp-inline';
    result.parts.push({ ...report, partId: partId(node), contentType, size: counter.bytes });
  }
  return result;
}

/** Keeps a decoded part in memory up to INLINE_BYTES, then moves it to a scratch file. */
class PartSink extends Writable {
  readonly #scratch: Scratch;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #file: FileHandle | null = null;
  #path: string | null = null;

  constructor(scratch: Scratch) {
    super();
    this.#scratch = scratch;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (!this.#file && this.#bytes + chunk.length <= INLINE_BYTES && this.#scratch.reserve(chunk.length)) {
      this.#chunks.push(chunk);
      this.#bytes += chunk.length;
      return done();
    }
    this.#spill(chunk).then(() => done(), done);
  }

  async #spill(chunk: Buffer): Promise<void> {
    if (!this.#file) {
      this.#path = await this.#scratch.file();
      this.#file = await open(this.#path, 'wx', 0o600);
      const held = this.#chunks;
      this.#chunks = [];
      for (const c of held) await writeAll(this.#file, c);
    }
    await writeAll(this.#file, chunk);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.#closeFile().then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#closeFile().then(() => done(err), () => done(err));
  }

  async #closeFile(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    if (file) await file.close();
  }

  data(): PartData {
    return this.#path ? { kind: 'file', path: this.#path } : { kind: 'memory', bytes: Buffer.concat(this.#chunks, this.#bytes) };
  }
}

/** A short write is not an error until nothing at all is written (a full disk). */
async function writeAll(file: FileHandle, bytes: Buffer): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done);
    if (bytesWritten === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}

function startOf(data: PartData): Promise<Buffer> {
  return data.kind === 'memory' ? Promise.resolve(data.bytes.subarray(0, 8)) : readStart(data.path);
}

function contains(data: PartData, patterns: readonly RegExp[]): Promise<boolean> {
  return data.kind === 'memory' ? Promise.resolve(bufferContains(data.bytes, patterns)) : fileContains(data.path, patterns);
}

/** Marks signing and whole-message encryption from a node's content type (RFC 1847, RFC 8551 §3.2). */
function classifyNode(node: MimeNode, result: Inspection): void {
  const type = node.contentType || '';
  const smime = (node._parsedContentType.params['smime-type'] ?? '').toLowerCase();
  if (node.root && node.headers.hasHeader('dkim-signature')) result.signed ??= 'dkim';
  if (type === 'multipart/signed') result.signed = 'multipart/signed';
  if (type === 'multipart/encrypted') result.encrypted ??= 'pgp-mime';
  if (type === 'application/pkcs7-mime' || type === 'application/x-pkcs7-mime') {
    if (smime === 'signed-data') result.signed = 'smime-signed';
    else if (smime !== 'certs-only' && smime !== 'compressed-data') result.encrypted ??= 'smime';
  }
}

async function inspectFile(data: PartData, name: string, limits: InspectLimits, scratch: Scratch, depth: number, truncated: boolean): Promise<FileReport> {
  const realType = sniff(await startOf(data));
  const report: FileReport = { name, realType, encrypted: null, entries: [], unchecked: truncated ? `larger than ${limits.maxBytes} bytes` : null };
  if (realType === 'pdf' && (await contains(data, [PDF_ENCRYPT]))) report.encrypted = 'pdf';
  if (realType === 'cfb' && (await contains(data, OFFICE_ENCRYPTED))) report.encrypted = 'office';
  if (realType === 'zip' && !truncated) {
    if (depth <= 0) report.unchecked = 'archive nested too deep';
    else await inspectZip(data, report, limits, scratch, depth - 1);
  }
  return report;
}

async function inspectZip(data: PartData, report: FileReport, limits: InspectLimits, scratch: Scratch, depth: number): Promise<void> {
  let zip: ZipFile;
  try {
    // Loaded with the first zip archive seen, not at start.
    const { default: yauzl } = await import('yauzl');
    const options = { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false };
    zip = await new Promise<ZipFile>((resolve, reject) => {
      const opened = (err: Error | null, z: ZipFile) => (err ? reject(err) : resolve(z));
      if (data.kind === 'memory') yauzl.fromBuffer(data.bytes, options, opened);
      else yauzl.open(data.path, options, opened);
    });
  } catch (err) {
    report.unchecked = `unreadable zip archive (${(err as Error).message})`;
    return;
  }
  try {
    let count = 0;
    for (;;) {
      const entry = await nextEntry(zip);
      if (!entry) break;
      if (++count > limits.maxEntries) {
        report.unchecked = `zip archive with more than ${limits.maxEntries} entries`;
        break;
      }
      if (entry.fileName.endsWith('/')) continue;
      // APPNOTE.TXT §4.4.4: general purpose bit 0 set means the entry is encrypted.
      if (entry.isEncrypted()) {
        report.encrypted = 'zip';
        report.entries.push({ name: entry.fileName, realType: null, encrypted: 'zip', entries: [], unchecked: null });
        continue;
      }
      const { data: inner, complete } = await extract(zip, entry, scratch, limits.maxBytes);
      const child = await inspectFile(inner, entry.fileName, limits, scratch, depth, !complete);
      if (inner.kind === 'file') await rm(inner.path, { force: true });
      report.entries.push(child);
    }
  } catch (err) {
    report.unchecked = `damaged zip archive (${(err as Error).message})`;
  } finally {
    zip.close();
  }
}

function nextEntry(zip: ZipFile): Promise<Entry | null> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (e: Entry) => (cleanup(), resolve(e));
    const onEnd = () => (cleanup(), resolve(null));
    const onError = (err: Error) => (cleanup(), reject(err));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

/** Reads an entry, at most `max` bytes; `complete` is false when it was cut (too big to check whole). */
async function extract(zip: ZipFile, entry: Entry, scratch: Scratch, max: number): Promise<{ data: PartData; complete: boolean }> {
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
    zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))));
  const counter = new Capped(max);
  const sink = new PartSink(scratch);
  await pipeline(stream, counter, sink);
  return { data: sink.data(), complete: !counter.truncated };
}

/** Passes at most `max` bytes on and drops the rest, remembering that it did. */
class Capped extends Transform {
  bytes = 0;
  truncated = false;
  readonly #max: number;
  constructor(max: number) {
    super();
    this.#max = max;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const room = this.#max - this.bytes;
    this.bytes += chunk.length;
    if (room <= 0) {
      this.truncated = true;
      return done();
    }
    if (chunk.length > room) this.truncated = true;
    done(null, chunk.length > room ? chunk.subarray(0, room) : chunk);
  }
}

/** The same inspection for the stages of one message (encrypted, attachments) without a second pass. */
const recent = new Map<string, Promise<Inspection>>();

export async function inspectCached(message: { path: string; size: number; head?: FileHead }, limits: InspectLimits): Promise<Inspection> {
  // Spool paths are never reused for other bytes, and a rewrite gets a new path.
  const key = `${message.path}\0${message.size}`;
  let found = recent.get(key);
  if (!found) {
    found = inspectMessage(message.path, limits, message.head);
    recent.set(key, found);
    found.catch(() => recent.delete(key));
    // Bounded: a handful of messages in flight at once on the board.
    while (recent.size > 8) recent.delete(recent.keys().next().value!);
  }
  return found;
}
