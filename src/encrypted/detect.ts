// Recognising content nobody at the gateway can read (seed §5: "password-protected or encrypted
// attachments cannot be checked, so pass them on as they are"). Pure checks on a decoded file.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

export type RealType = 'pe' | 'elf' | 'macho' | 'zip' | 'pdf' | 'cfb' | 'script';

/** What the first bytes say a file is, whatever its name claims. */
export function sniff(head: Buffer): RealType | null {
  const hex = head.subarray(0, 8).toString('hex');
  if (head.length >= 2 && head[0] === 0x4d && head[1] === 0x5a) return 'pe'; // "MZ": DOS/Windows executable
  if (hex.startsWith('7f454c46')) return 'elf';
  if (/^(feedface|feedfacf|cefaedfe|cffaedfe|cafebabe)/.test(hex)) return 'macho';
  if (hex.startsWith('504b0304') || hex.startsWith('504b0506')) return 'zip';
  if (head.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  if (hex === 'd0cf11e0a1b11ae1') return 'cfb';
  if (head.subarray(0, 2).toString('latin1') === '#!') return 'script';
  return null;
}

export const EXECUTABLE_TYPES: ReadonlySet<RealType> = new Set(['pe', 'elf', 'macho']);

export const TYPE_NAMES: Record<RealType, string> = {
  pe: 'Windows program', elf: 'Linux program', macho: 'macOS program or Java class',
  zip: 'zip archive', pdf: 'PDF document', cfb: 'Office document', script: 'script',
};

export async function readStart(path: string, length = 8): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Streams a file looking for any of `patterns`; chunks overlap so a match across a boundary counts. */
export async function fileContains(path: string, patterns: readonly RegExp[], overlap = 256): Promise<boolean> {
  let carry = '';
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) {
    const text = carry + (chunk as Buffer).toString('latin1');
    if (patterns.some((p) => p.test(text))) return true;
    carry = text.slice(-overlap);
  }
  return false;
}

/** The same test on bytes already in memory. */
export function bufferContains(bytes: Buffer, patterns: readonly RegExp[]): boolean {
  const text = bytes.toString('latin1');
  return patterns.some((p) => p.test(text));
}

// ISO 32000-1 §7.6.1: an encrypted PDF names its security handler with /Encrypt in the trailer
// (or, from PDF 1.5, in the cross-reference stream dictionary).
export const PDF_ENCRYPT = /\/Encrypt\s*(?:\d+\s+\d+\s+R|<<)/;

// MS-OFFCRYPTO §2.3.4: an encrypted OOXML file is a compound file with EncryptionInfo and
// EncryptedPackage streams; directory entry names are UTF-16LE.
const utf16 = (s: string) => new RegExp(Buffer.from(s, 'utf16le').toString('latin1').replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'));
export const OFFICE_ENCRYPTED = [utf16('EncryptedPackage'), utf16('EncryptionInfo')];

// RFC 4880 §6.2: inline OpenPGP armor; a signed-only armor ("SIGNED MESSAGE") is readable.
export const PGP_ARMOR = /(?:^|\n)-----BEGIN PGP MESSAGE-----\r?\n/;
