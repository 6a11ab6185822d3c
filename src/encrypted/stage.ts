// Content stage: mail whose content cannot be read at the gateway — encrypted zip entries,
// encrypted PDF and Office files, S/MIME enveloped data, PGP/MIME, inline PGP — is passed on byte
// for byte (docs/REQUIREMENTS.md §5) and marked with X-Yubin-Encrypted, so the reader knows no scanner saw inside.
// encrypted.action can hold or refuse it instead.
import type { Context } from '../context.ts';
import type { MessageContext, Stage, Verdict } from '../pipeline/stage.ts';
import type { FileReport, Inspection } from '../inspect/inspect.ts';
import { inspectOrVerdict, isVerdict } from '../inspect/limits.ts';
import { headerText } from '../mime/mime.ts';

/** "smime", "zip=secret.zip", "pdf=report.pdf"... one item per unreadable thing. */
export function encryptedItems(inspection: Inspection): string[] {
  const items: string[] = [];
  if (inspection.encrypted) items.push(inspection.encrypted);
  const visit = (file: FileReport, label: string) => {
    // A zip counts once, by its own name, however many of its entries are encrypted (APPNOTE §4.4.4).
    if (file.realType === 'zip' ? file.entries.some((e) => e.encrypted === 'zip') : file.encrypted !== null) {
      items.push(`${file.encrypted ?? 'zip'}="${label}"`);
    }
    for (const e of file.entries) if (e.encrypted !== 'zip' || e.realType !== null) visit(e, `${label}/${e.name}`);
  };
  for (const part of inspection.parts) visit(part, part.name || '(unnamed)');
  return [...new Set(items)];
}

export const encryptedStage: Stage = async (message: MessageContext, context: Context): Promise<Verdict> => {
  // The first stage to inspect: it also marks a message passed on uninspected (mime.onLimit).
  const inspection = await inspectOrVerdict(message, context, true);
  if (isVerdict(inspection)) return inspection;
  const items = encryptedItems(inspection);
  if (items.length === 0) return { action: 'accept' };
  const header = `X-Yubin-Encrypted: ${headerText(`${items.join('; ')}; content not scanned`)}`;
  switch (context.store.get('encrypted.action')) {
    case 'reject':
      return { action: 'reject', code: 554, enhanced: '5.7.1', text: `Message refused: encrypted content cannot be checked (${items[0]})` };
    case 'quarantine':
      return { action: 'quarantine', reason: `encrypted content: ${items.join('; ')}`, headers: [header] };
    default:
      return { action: 'accept', headers: [header] };
  }
};
