// Recognising content nobody at the gateway can read (docs/REQUIREMENTS.md §5: "password-protected or encrypted
// attachments cannot be checked, so pass them on as they are"). Pure checks on a decoded file.

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

// ISO 32000-1 §7.6.1: an encrypted PDF names its security handler with /Encrypt in the trailer
// (or, from PDF 1.5, in the cross-reference stream dictionary).
export const PDF_ENCRYPT = /\/Encrypt\s*(?:\d+\s+\d+\s+R|<<)/;

// MS-OFFCRYPTO §2.3.4: an encrypted OOXML file is a compound file with EncryptionInfo and
// EncryptedPackage streams; directory entry names are UTF-16LE.
const utf16 = (s: string) => new RegExp(Buffer.from(s, 'utf16le').toString('latin1').replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'));
export const OFFICE_ENCRYPTED = [utf16('EncryptedPackage'), utf16('EncryptionInfo')];

// RFC 4880 §6.2: inline OpenPGP armor; a signed-only armor ("SIGNED MESSAGE") is readable.
export const PGP_ARMOR = /(?:^|\n)-----BEGIN PGP MESSAGE-----\r?\n/;
