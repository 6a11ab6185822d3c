// One streaming pass over a spooled message that reports, per MIME leaf part, its name, what its
// bytes really are, what a zip or attached message holds, and whether it is encrypted. Each part
// is decoded into a temp file (bounded) so zip archives can be read with random access (yauzl);
// nothing is held whole in memory. The attachment and encrypted-content stages both read this.
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createReadStream } from 'node:fs';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import { newSplitter, partId, type MimeNode, type SplitItem } from './mime.ts';
import { sniff, readStart, pdfIsEncrypted, officeIsEncrypted, hasPgpArmor, type RealType } from '../encrypted/detect.ts';

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

export async function inspectMessage(path: string, limits: InspectLimits): Promise<Inspection> {
  await mkdir(limits.tmpRoot, { recursive: true, mode: 0o700 });
  const tmp = await mkdtemp(join(limits.tmpRoot, 'inspect-'));
  try {
    return await walkMessage(path, limits, tmp, limits.depth);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function walkMessage(path: string, limits: InspectLimits, tmp: string, depth: number): Promise<Inspection> {
  const result: Inspection = { parts: [], signed: null, encrypted: null };
  const splitter = newSplitter();
  const feeding = pipeline(createReadStream(path), splitter);
  let current: { node: MimeNode; decoder: Transform; done: Promise<void>; counter: Capped } | null = null;
  const finished: Array<{ node: MimeNode; file: string; counter: Capped }> = [];
  let n = 0;

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
      const file = join(tmp, `part-${n++}`);
      const decoder = item.getDecoder();
      const counter = new Capped(limits.maxBytes);
      current = { node: item, decoder, counter, done: pipeline(decoder, counter, createWriteStream(file)) };
      finished.push({ node: item, file, counter });
    } else if (item.type === 'body' && current && item.node === current.node) {
      if (!current.decoder.write(item.value)) await new Promise((r) => current!.decoder.once('drain', r));
    }
  }
  await close();
  await feeding;

  for (const { node, file, counter } of finished) {
    const contentType = node.contentType || 'text/plain';
    const name = node.filename || '';
    const report = await inspectFile(file, name, limits, tmp, depth, counter.truncated);
    if (contentType === 'message/rfc822' && depth > 0) {
      const inner = await walkMessage(file, limits, tmp, depth - 1);
      report.entries.push(...inner.parts);
      // An attached message that is itself encrypted is marked here; encrypted files in it stay on their entries.
      if (inner.encrypted) report.encrypted = inner.encrypted === 'smime' ? 'smime' : 'pgp-mime';
    }
    if (contentType.startsWith('text/') && report.encrypted === null && (await hasPgpArmor(file))) report.encrypted = 'pgp-inline';
    result.parts.push({ ...report, partId: partId(node), contentType, size: counter.bytes });
  }
  return result;
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

async function inspectFile(file: string, name: string, limits: InspectLimits, tmp: string, depth: number, truncated: boolean): Promise<FileReport> {
  const realType = sniff(await readStart(file));
  const report: FileReport = { name, realType, encrypted: null, entries: [], unchecked: truncated ? `larger than ${limits.maxBytes} bytes` : null };
  if (realType === 'pdf' && (await pdfIsEncrypted(file))) report.encrypted = 'pdf';
  if (realType === 'cfb' && (await officeIsEncrypted(file))) report.encrypted = 'office';
  if (realType === 'zip' && !truncated) {
    if (depth <= 0) report.unchecked = 'archive nested too deep';
    else await inspectZip(file, report, limits, tmp, depth - 1);
  }
  return report;
}

async function inspectZip(file: string, report: FileReport, limits: InspectLimits, tmp: string, depth: number): Promise<void> {
  let zip: ZipFile;
  try {
    zip = await new Promise<ZipFile>((resolve, reject) =>
      yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false }, (err, z) => (err ? reject(err) : resolve(z))));
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
      const inner = join(tmp, `zip-${Math.random().toString(36).slice(2)}`);
      const extracted = await extract(zip, entry, inner, limits.maxBytes);
      const child = await inspectFile(inner, entry.fileName, limits, tmp, depth, !extracted);
      await rm(inner, { force: true });
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

/** Writes an entry to `dest`, at most `max` bytes; false when it was cut (too big to check whole). */
async function extract(zip: ZipFile, entry: Entry, dest: string, max: number): Promise<boolean> {
  const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
    zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))));
  const counter = new Capped(max);
  await pipeline(stream, counter, createWriteStream(dest));
  return !counter.truncated;
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

export async function inspectCached(path: string, limits: InspectLimits): Promise<Inspection> {
  const info = await stat(path);
  const key = `${path}\0${info.size}\0${info.mtimeMs}`;
  let found = recent.get(key);
  if (!found) {
    found = inspectMessage(path, limits);
    recent.set(key, found);
    found.catch(() => recent.delete(key));
    // Bounded: a handful of messages in flight at once on the board.
    while (recent.size > 8) recent.delete(recent.keys().next().value!);
  }
  return found;
}
