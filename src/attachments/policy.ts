// Which files are blocked and why, in words a user can act on. Pure functions over an Inspection.
import { EXECUTABLE_TYPES, TYPE_NAMES } from '../inspect/detect.ts';
import type { FileReport, Inspection } from '../inspect/inspect.ts';

export interface Rules {
  blocked: ReadonlySet<string>;
  blockExecutables: boolean;
  blockUncheckable: boolean;
}

export interface Finding {
  /** MIME part to remove ("" for the whole single-part body). */
  partId: string;
  /** Name as the user saw it; an entry in an archive reads "archive.zip → inner.exe". */
  filename: string;
  reason: string;
}

// Direction marks (U+202E RIGHT-TO-LEFT OVERRIDE etc.) make "invoice‮fdp.exe" read as "invoiceexe.pdf".
const BIDI = /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Why a file name is blocked, or null. Windows drops trailing dots and spaces, so we do too. */
export function nameReason(name: string, blocked: ReadonlySet<string>): string | null {
  const base = name.split(/[\\/]/).pop() ?? '';
  const hidden = BIDI.test(base);
  const clean = base.normalize('NFKC').replace(BIDI, '').replace(/[.\s]+$/, '').toLowerCase();
  const pieces = clean.split('.').map((p) => p.trim());
  if (pieces.length < 2) return hidden ? 'file name hides its real extension with Unicode direction marks' : null;
  const last = pieces[pieces.length - 1]!;
  if (hidden) return `file name hides its real extension (.${last}) with Unicode direction marks`;
  if (!blocked.has(last)) return null;
  const before = pieces.length > 2 ? pieces[pieces.length - 2]! : '';
  if (before && /^[a-z0-9]{1,5}$/.test(before) && !blocked.has(before)) return `double extension: looks like .${before} but is .${last}`;
  return `blocked file type .${last}`;
}

function fileReason(file: FileReport, rules: Rules): string | null {
  const byName = file.name ? nameReason(file.name, rules.blocked) : null;
  if (byName) return byName;
  if (rules.blockExecutables && file.realType && EXECUTABLE_TYPES.has(file.realType)) {
    return `${TYPE_NAMES[file.realType]} inside${file.name ? ` a file named "${file.name}"` : ' an unnamed part'}`;
  }
  if (rules.blockUncheckable && file.unchecked && file.realType === 'zip') return `archive could not be checked: ${file.unchecked}`;
  return null;
}

/** The first reason found in a file or, depth first, in what it contains. */
function deepReason(file: FileReport, rules: Rules, path: string): { name: string; reason: string } | null {
  const own = fileReason(file, rules);
  if (own) return { name: path, reason: own };
  for (const entry of file.entries) {
    const found = deepReason(entry, rules, `${path} → ${entry.name || '(unnamed)'}`);
    if (found) return found;
  }
  return null;
}

export function findBlocked(inspection: Inspection, rules: Rules): Finding[] {
  const out: Finding[] = [];
  for (const part of inspection.parts) {
    const found = deepReason(part, rules, part.name || '(unnamed)');
    if (found) out.push({ partId: part.partId, filename: found.name, reason: found.reason });
  }
  return out;
}
