// The inspection limits from the attachments.* settings, shared by the attachment and the
// encrypted-content stages so both read one and the same (cached) inspection.
import { join } from 'node:path';
import type { Context } from '../context.ts';
import type { InspectLimits } from './inspect.ts';

export function inspectLimits(context: Context): InspectLimits {
  const s = context.store;
  return {
    maxBytes: s.get('attachments.maxScanBytes'),
    depth: s.get('attachments.archiveDepth'),
    maxEntries: s.get('attachments.maxArchiveEntries'),
    tmpRoot: join(context.dataDir, 'tmp'),
  };
}
