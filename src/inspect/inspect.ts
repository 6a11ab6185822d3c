// One streaming pass over a spooled message that reports, per MIME leaf part, its name, what its
// bytes really are, what a zip or attached message holds, and whether it is encrypted. Each part
// is decoded and looked at as it streams by; only a zip archive (read with random access by
// yauzl) or an attached message is kept, in memory when small, else in a bounded temp file.
// Nothing large is held whole in memory. The attachment and encrypted-content stages read this.
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Entry, ZipFile } from 'yauzl';
import { limitError, newSplitter, partId, type MimeNode, type SplitItem } from '../mime/mime.ts';
import { headerTooLarge, nestedTooDeep, type MimeLimits } from '../mime/limits.ts';
import { sniff, PDF_ENCRYPT, OFFICE_ENCRYPTED, PGP_ARMOR, type RealType } from './detect.ts';
import type { FileHead } from '../mail/types.ts';
import { memoKey, type Memo } from '../pipeline/stage.ts';
import { writeAll } from '../files/durable.ts';

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
  /** The mime.* structure limits; beyond one the walk fails with a MimeLimitError. */
  mime: MimeLimits;
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

async function walkMessage(source: PartData, limits: InspectLimits, scratch: Scratch, depth: number): Promise<Inspection> {
  const result: Inspection = { parts: [], signed: null, encrypted: null };
  const splitter = newSplitter(limits.mime);
  // Every promise made here is awaited, and its rejection taken at once: a parser error must fail
  // this walk, never float off as an unhandled rejection (one such message ended the process).
  let feeding: Promise<void> = Promise.resolve();
  // Bytes in memory (most messages) are written in: a stream pipeline costs ~30 us per message.
  if (source.kind === 'memory') splitter.end(source.bytes);
  else {
    feeding = pipeline(createReadStream(source.path), splitter);
    feeding.catch(() => undefined);
  }
  let current: { node: MimeNode; decoder: Transform; done: Promise<void> } | null = null;
  const finished: Array<{ node: MimeNode; scan: PartScan }> = [];

  const close = async () => {
    if (!current) return;
    const { decoder, done } = current;
    current = null;
    decoder.end();
    await done;
  };

  try {
    for await (const item of splitter as AsyncIterable<SplitItem>) {
      if (item.type === 'node') {
        await close();
        checkNode(item, limits.mime);
        classifyNode(item, result);
        if (item.multipart) continue;
        const decoder = item.getDecoder();
        const type = item.contentType || 'text/plain';
        const scan = new PartScan(scratch, limits.maxBytes, { keep: type === 'message/rfc822' && depth > 0, text: type.startsWith('text/') });
        current = { node: item, decoder, done: pipeline(decoder, scan) };
        current.done.catch(() => undefined);
        finished.push({ node: item, scan });
      } else if (item.type === 'body' && current && item.node === current.node) {
        const { decoder } = current;
        if (!decoder.write(item.value)) await new Promise((r) => decoder.once('drain', r));
      }
    }
    await close();
    await feeding;
  } catch (err) {
    splitter.destroy();
    (current as { decoder: Transform } | null)?.decoder.destroy();
    throw limitError(err, splitter, limits.mime) ?? err;
  }

  for (const { node, scan } of finished) {
    const contentType = node.contentType || 'text/plain';
    const name = node.filename || '';
    const report = await inspectFile(scan, name, limits, scratch, depth);
    const data = scan.data();
    if (contentType === 'message/rfc822' && depth > 0 && data) {
      const inner = await walkMessage(data, limits, scratch, depth - 1);
      report.entries.push(...inner.parts);
      // An attached message that is itself encrypted is marked here; encrypted files in it stay on their entries.
      if (inner.encrypted) report.encrypted = inner.encrypted === 'smime' ? 'smime' : 'pgp-mime';
    }
    if (report.encrypted === null && scan.found.has(PGP_ARMOR)) report.encrypted = 'pgp-inline';
    result.parts.push({ ...report, partId: partId(node), contentType, size: scan.bytes });
  }
  return result;
}

/**
 * One pass over a decoded part (or zip entry): counts it, sniffs its first bytes, searches it
 * for the marks of encryption its type calls for, and keeps its bytes only when a later step
 * reads them again (a zip archive, an attached message): in memory up to INLINE_BYTES, else in a
 * scratch file written 64 KiB at a time (decoders hand over a line at a time). A 1 MiB text part
 * used to be written to a scratch file and read back to look for PGP armor.
 */
class PartScan extends Writable {
  /** Decoded bytes, also those past the limit. */
  bytes = 0;
  /** More than the limit: the rest was not looked at. */
  truncated = false;
  realType: RealType | null = null;
  /** The patterns found: PDF_ENCRYPT, an OFFICE_ENCRYPTED name, PGP_ARMOR. */
  readonly found = new Set<RegExp>();
  readonly #scratch: Scratch;
  readonly #max: number;
  readonly #keepAnyway: boolean;
  readonly #text: boolean;
  #start: Buffer[] = [];
  #startBytes = 0;
  #decided = false;
  #keep = false;
  #patterns: readonly RegExp[] = [];
  #carry = '';
  #chunks: Buffer[] = [];
  #kept = 0;
  #file: FileHandle | null = null;
  #path: string | null = null;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** `keep`: the bytes are read again whatever they are (an attached message); `text`: a text/* part. */
  constructor(scratch: Scratch, max: number, options: { keep: boolean; text: boolean }) {
    super();
    this.#scratch = scratch;
    this.#max = max;
    this.#keepAnyway = options.keep;
    this.#text = options.text;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const room = this.#max - this.bytes;
    this.bytes += chunk.length;
    if (room <= 0) {
      this.truncated = true;
      return done();
    }
    if (chunk.length > room) {
      this.truncated = true;
      chunk = chunk.subarray(0, room);
    }
    if (!this.#decided) {
      // The type decides what to look for: wait for the first 8 bytes (sniff's magic numbers).
      this.#start.push(chunk);
      this.#startBytes += chunk.length;
      if (this.#startBytes < 8) return done();
      chunk = this.#decide();
    }
    this.#take(chunk).then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    const rest = this.#decided ? null : this.#decide();
    (rest ? this.#take(rest) : Promise.resolve())
      .then(() => this.#flush())
      .then(() => this.#closeFile())
      .then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.#closeFile().then(() => done(err), () => done(err));
  }

  /** Sniffs the start, chooses the patterns and whether to keep the bytes; returns the start. */
  #decide(): Buffer {
    this.#decided = true;
    // Usually the first chunk alone: no copy then (a fresh buffer per part cost more than the rest).
    const start = this.#start.length === 1 ? this.#start[0]! : Buffer.concat(this.#start, this.#startBytes);
    this.#start = [];
    this.realType = sniff(start);
    this.#keep = this.#keepAnyway || this.realType === 'zip';
    this.#patterns = [
      ...(this.realType === 'pdf' ? [PDF_ENCRYPT] : []),
      ...(this.realType === 'cfb' ? OFFICE_ENCRYPTED : []),
      ...(this.#text ? [PGP_ARMOR] : []),
    ];
    return start;
  }

  async #take(chunk: Buffer): Promise<void> {
    if (this.#patterns.length > 0) {
      // Chunks overlap by 256 characters, so a mark across a boundary is found.
      const text = this.#carry + chunk.toString('latin1');
      for (const p of this.#patterns) if (!this.found.has(p) && p.test(text)) this.found.add(p);
      this.#carry = text.slice(-256);
    }
    if (!this.#keep) return;
    if (!this.#file && this.#kept + chunk.length <= INLINE_BYTES && this.#scratch.reserve(chunk.length)) {
      this.#chunks.push(chunk);
      this.#kept += chunk.length;
      return;
    }
    if (!this.#file) {
      this.#path = await this.#scratch.file();
      this.#file = await open(this.#path, 'wx', 0o600);
      this.#pending = this.#chunks;
      this.#pendingBytes = this.#kept;
      this.#chunks = [];
    }
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= INLINE_BYTES) await this.#flush();
  }

  async #flush(): Promise<void> {
    if (!this.#file || this.#pendingBytes === 0) return;
    const bytes = Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    await writeAll(this.#file, bytes);
  }

  async #closeFile(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    if (file) await file.close();
  }

  /** The bytes, when kept (see the constructor); null otherwise. */
  data(): PartData | null {
    if (this.#path) return { kind: 'file', path: this.#path };
    return this.#keep ? { kind: 'memory', bytes: Buffer.concat(this.#chunks, this.#kept) } : null;
  }
}

/** A part's own limits: its header block (mailsplit bounds only the largest of all) and its depth. */
function checkNode(node: MimeNode, limits: MimeLimits): void {
  if (!node.root && node._headerlen > limits.maxPartHeaderBytes) throw headerTooLarge(limits, false, partId(node));
  if (node.root && node._headerlen > limits.maxHeaderBytes) throw headerTooLarge(limits, true, '');
  let levels = 0;
  for (let n: MimeNode | false = node.parentNode; n; n = n.parentNode) levels++;
  if (levels > limits.maxDepth) throw nestedTooDeep(limits);
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

async function inspectFile(scan: PartScan, name: string, limits: InspectLimits, scratch: Scratch, depth: number): Promise<FileReport> {
  const realType = scan.realType;
  const report: FileReport = { name, realType, encrypted: null, entries: [], unchecked: scan.truncated ? `larger than ${limits.maxBytes} bytes` : null };
  if (realType === 'pdf' && scan.found.has(PDF_ENCRYPT)) report.encrypted = 'pdf';
  if (realType === 'cfb' && OFFICE_ENCRYPTED.some((p) => scan.found.has(p))) report.encrypted = 'office';
  const data = scan.data();
  if (realType === 'zip' && !scan.truncated && data) {
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
      const scan = await extract(zip, entry, scratch, limits.maxBytes);
      const child = await inspectFile(scan, entry.fileName, limits, scratch, depth);
      const inner = scan.data();
      if (inner?.kind === 'file') await rm(inner.path, { force: true });
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

/** One pass over a zip entry, as over a MIME part. */
async function extract(zip: ZipFile, entry: Entry, scratch: Scratch, max: number): Promise<PartScan> {
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
    zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))));
  const scan = new PartScan(scratch, max, { keep: false, text: false });
  await pipeline(stream, scan);
  return scan;
}

/** The inspection of one message, made once and shared by its stages (encrypted, attachments, spam). */
export const INSPECTION = memoKey<Promise<Inspection>>('inspection');

export function inspectCached(message: { path: string; size: number; head?: FileHead; memo?: Memo }, limits: InspectLimits): Promise<Inspection> {
  if (!message.memo) return inspectMessage(message.path, limits, message.head);
  const found = message.memo.once(INSPECTION, () => inspectMessage(message.path, limits, message.head));
  // Each stage awaits it; a rejection is theirs to take, never an unhandled one.
  found.catch(() => undefined);
  return found;
}
