// Zip archives for the MIME generators, as real bytes from yazl: blocked names inside, programs
// under harmless names, bombs (megabytes of zeros in a few KiB), thousands of entries, zips in
// zips, entries marked encrypted (APPNOTE.TXT §4.4.4 bit 0, set after yazl wrote them), damage.
import fc from 'fast-check';
import yazl from 'yazl';

export type ZipContent =
  | { kind: 'text'; text: string }
  | { kind: 'zeros'; size: number }
  | { kind: 'program' }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'zip'; zip: ZipSpec };

export interface ZipEntrySpec {
  name: string;
  content: ZipContent;
  compress: boolean;
  /** Mark the entry encrypted (general purpose bit 0) in both headers. */
  encrypted: boolean;
}

export interface ZipSpec {
  entries: ZipEntrySpec[];
  /** Empty entries added after the others (a zip bomb of names: attachments.maxArchiveEntries). */
  filler: number;
  damage: 'none' | 'truncate' | 'flip' | 'no-end-record' | 'garbage-before';
}

/** A DOS/PE header start: what the attachment filter calls a Windows program. */
export const PROGRAM_BYTES = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), Buffer.alloc(56), Buffer.from('PE\0\0', 'latin1')]);

export const fileName = fc.oneof(
  fc.constantFrom('report.pdf', 'invoice.exe', 'photo.jpg.exe', 'notes.txt', 'README', 'a.JS', 'setup.msi.', 'run.bat ', 'inner.zip', 'x.scr',
    'invoice\u202efdp.exe', 'résumé.docx', '請求書.pdf.lnk', 'dir/sub/evil.vbs', 'dir/', 'weird name.PS1', 'file.tar.gz', '.hidden', ''),
  fc.stringMatching(/^[a-z0-9]{1,8}(\.[a-z0-9]{1,4}){0,3}$/),
);

const content: fc.Memo<ZipContent> = fc.memo((n) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('text' as const), text: fc.string({ maxLength: 200 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('zeros' as const), size: fc.integer({ min: 0, max: 3 * 1024 * 1024 }) }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'program' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 300 }) }) },
    ...(n > 1 ? [{ weight: 2, arbitrary: zipSpecOf(n - 1).map((zip) => ({ kind: 'zip' as const, zip })) }] : []),
  ),
);

function zipSpecOf(n: number): fc.Arbitrary<ZipSpec> {
  return fc.record({
    entries: fc.array(fc.record({ name: fileName, content: content(n), compress: fc.boolean(), encrypted: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) }), { maxLength: 4 }),
    filler: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 1200 }) }),
    damage: fc.oneof({ weight: 8, arbitrary: fc.constant('none' as const) }, { weight: 1, arbitrary: fc.constantFrom('truncate' as const, 'flip' as const, 'no-end-record' as const, 'garbage-before' as const) }),
  });
}

/** Zips up to three deep (a zip in a zip in a zip: attachments.archiveDepth is 2 by default). */
export const zipSpec = zipSpecOf(3);

function contentBytes(c: ZipContent): Promise<Buffer> {
  switch (c.kind) {
    case 'text': return Promise.resolve(Buffer.from(c.text));
    case 'zeros': return Promise.resolve(Buffer.alloc(c.size));
    case 'program': return Promise.resolve(PROGRAM_BYTES);
    case 'bytes': return Promise.resolve(Buffer.from(c.bytes));
    case 'zip': return renderZip(c.zip);
  }
}

/** A name yazl takes: relative, forward slashes, no ".." (the filter sees what a sender's tool would write). */
function storable(name: string, i: number): string {
  const clean = name.replace(/\\/g, '/').replace(/^\/+/, '').split('/').filter((p) => p !== '..' && p !== '.').join('/');
  return clean === '' || clean === '/' ? `entry-${i}` : clean;
}

export async function renderZip(spec: ZipSpec): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const used = new Set<string>();
  const encrypted: string[] = [];
  for (const [i, e] of spec.entries.entries()) {
    let name = storable(e.name, i);
    if (used.has(name)) name = `${i}-${name}`;
    used.add(name);
    if (e.encrypted) encrypted.push(name);
    if (name.endsWith('/')) zip.addEmptyDirectory(name);
    else zip.addBuffer(await contentBytes(e.content), name, { compress: e.compress, mtime: new Date(2020, 0, 1) });
  }
  for (let i = 0; i < spec.filler; i++) zip.addBuffer(Buffer.alloc(0), `f/${i}.txt`, { compress: false, mtime: new Date(2020, 0, 1) });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  markEncrypted(bytes, new Set(encrypted));
  return damage(bytes, spec.damage);
}

/** Set bit 0 of the general purpose flags of the named entries, central directory and local header. */
function markEncrypted(zip: Buffer, names: ReadonlySet<string>): void {
  if (names.size === 0) return;
  // The end record is the last 22 bytes (yazl writes no comment) unless zip64 records precede it.
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) return;
  let at = zip.readUInt32LE(end + 16);
  const count = zip.readUInt16LE(end + 10);
  for (let i = 0; i < count && at + 46 <= zip.length && zip.readUInt32LE(at) === 0x02014b50; i++) {
    const nameLength = zip.readUInt16LE(at + 28);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    if (names.has(name)) {
      zip.writeUInt16LE(zip.readUInt16LE(at + 8) | 1, at + 8);
      const local = zip.readUInt32LE(at + 42);
      if (local + 8 <= zip.length) zip.writeUInt16LE(zip.readUInt16LE(local + 6) | 1, local + 6);
    }
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
}

function damage(zip: Buffer, how: ZipSpec['damage']): Buffer {
  switch (how) {
    case 'none': return zip;
    case 'truncate': return zip.subarray(0, Math.floor(zip.length * 0.7));
    case 'no-end-record': return zip.subarray(0, Math.max(0, zip.length - 22));
    case 'garbage-before': return Buffer.concat([Buffer.from('GARBAGE\r\n'.repeat(10)), zip]);
    case 'flip': {
      const copy = Buffer.from(zip);
      for (let i = 7; i < copy.length; i += 97) copy[i] = copy[i]! ^ 0x5a;
      return copy;
    }
  }
}
