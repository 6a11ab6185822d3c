// Settings of the attachment filter (docs/REQUIREMENTS.md §5: remove attachments with certain extensions, both
// from outside in and from inside out).
import { setting, int, bool, list, oneOf, text, type Setting } from '../settings/kinds.ts';

const extension = text(/^[a-z0-9_-]{1,16}$/, 'a file extension without the dot, lower case, e.g. exe');
const action = oneOf('remove', 'reject', 'quarantine', 'off');

export const DEFAULT_BLOCKED = [
  'exe', 'scr', 'com', 'pif', 'bat', 'cmd', 'js', 'jse', 'vbs', 'vbe', 'wsf', 'wsh', 'hta', 'msi', 'msp', 'mst',
  'lnk', 'iso', 'img', 'vhd', 'vhdx', 'cpl', 'jar', 'ps1', 'psm1', 'reg', 'scf', 'inf', 'msc', 'gadget', 'application',
  'appx', 'msix', 'chm', 'dll', 'sys', 'ace', 'xll', 'settingcontent-ms', 'url',
];

export const settings = {
  'attachments.blockedExtensions': setting(list(extension), DEFAULT_BLOCKED, 'live',
    'File extensions that are never delivered, checked on attachment names, on names inside zip archives and attached messages, and on the last of several extensions (report.pdf.exe).'),
  'attachments.inbound': setting(action, 'remove', 'live',
    'What happens to mail from outside carrying a blocked file: remove (the part is replaced by a short notice and the original is kept in quarantine), reject (554 5.7.1 at DATA), quarantine (the whole message), off.'),
  'attachments.outbound': setting(action, 'remove', 'live',
    'The same for mail our users send out (docs/REQUIREMENTS.md §5 asks for both directions).'),
  'attachments.signedAction': setting(oneOf('quarantine', 'reject', 'pass'), 'quarantine', 'live',
    'A signed message (multipart/signed, S/MIME, DKIM) with a blocked file cannot lose the part without breaking the signature: quarantine it whole (default), reject it, or pass it untouched with a warning header.'),
  'attachments.blockExecutables': setting(bool, true, 'live',
    'Block a file whose bytes are a program (Windows PE "MZ", ELF, Mach-O) whatever its name says.'),
  'attachments.blockUncheckable': setting(bool, true, 'live',
    'Block an archive that cannot be checked to the end (damaged, more than attachments.maxArchiveEntries entries, nested deeper than attachments.archiveDepth, larger than attachments.maxScanBytes).'),
  'attachments.archiveDepth': setting(int(0, 5), 2, 'live',
    'How many levels of zip in zip (or message in message) are opened.'),
  'attachments.maxArchiveEntries': setting(int(1, 100_000), 1000, 'live',
    'Entries read from one zip archive (a zip bomb has many).'),
  'attachments.maxScanBytes': setting(int(1024, 1024 ** 3), 32 * 1024 * 1024, 'live',
    'Decoded bytes of one part or one archive entry written to a temp file for checking.'),
} satisfies Record<string, Setting<unknown>>;
