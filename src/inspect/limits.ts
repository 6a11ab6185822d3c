// The inspection limits from the attachments.* settings, shared by the attachment and the
// encrypted-content stages so both read one and the same (cached) inspection.
import { join } from 'node:path';
import type { Context } from '../context.ts';
import { inspectCached, type Inspection, type InspectLimits } from './inspect.ts';
import { MimeLimitError, type MimeLimits } from '../mime/limits.ts';
import type { ConfigStore } from '../config/store.ts';
import type { MessageContext, Verdict } from '../pipeline/stage.ts';

export function inspectLimits(context: Context): InspectLimits {
  const s = context.store;
  return {
    maxBytes: s.get('attachments.maxScanBytes'),
    depth: s.get('attachments.archiveDepth'),
    maxEntries: s.get('attachments.maxArchiveEntries'),
    tmpRoot: join(context.dataDir, 'tmp'),
    mime: mimeLimits(s),
  };
}

/**
 * The message's inspection, or, for a message beyond a mime.* limit, the verdict: a permanent
 * refusal naming the limit, or (mime.onLimit accept) passing it on uninspected, marked by the
 * stage that says so (`warn`). The top header block limit always refuses: sender checks need it.
 */
export async function inspectOrVerdict(message: MessageContext, context: Context, warn: boolean): Promise<Inspection | Verdict> {
  try {
    return await inspectCached(message, inspectLimits(context));
  } catch (err) {
    if (!(err instanceof MimeLimitError)) throw err;
    context.log.log('info', 'message beyond a MIME limit', { queueId: message.queueId, limit: err.kind, client: message.client.address });
    if (err.kind === 'header' || context.store.get('mime.onLimit') === 'reject') return { action: 'reject', ...err.reply };
    return { action: 'accept', ...(warn ? { headers: [`X-Yubin-Inspection: not inspected (${err.message}); attachments and encrypted content not checked`] } : {}) };
  }
}

export function isVerdict(x: Inspection | Verdict): x is Verdict {
  return 'action' in x;
}

/** The mime.* settings as the MIME reader takes them. */
export function mimeLimits(store: ConfigStore): MimeLimits {
  return {
    maxHeaderBytes: store.get('mime.maxHeaderBytes'),
    maxPartHeaderBytes: store.get('mime.maxPartHeaderBytes'),
    maxParts: store.get('mime.maxParts'),
    maxDepth: store.get('mime.maxDepth'),
  };
}
