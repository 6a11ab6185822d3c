// The archive copy as a content stage (the record phase: after every check, rewrite and signature):
// every outbound message, and inbound ones when archive.inbound is on, exactly as it leaves — the
// header fields the stages added, then the spooled file (linked, not copied). A failure to archive
// is logged and never costs the mail itself.
import type { Context } from '../context.ts';
import type { NamedStage, MessageContext } from '../pipeline/stage.ts';
import { Archive, subjectOf } from './store.ts';

const archives = new Map<string, Archive>();

/** The one Archive of a data folder (its size totals live in memory). */
export function archiveOf(dataDir: string): Archive {
  let a = archives.get(dataDir);
  if (!a) {
    a = new Archive(dataDir);
    archives.set(dataDir, a);
  }
  return a;
}

export async function archiveMessage(message: MessageContext, ctx: Context, now = Date.now()): Promise<void> {
  const s = ctx.store;
  if (!s.get('archive.enabled')) return;
  if (message.direction === 'inbound' && !s.get('archive.inbound')) return;
  const prepend = [...(message.prepend ?? [])];
  const meta = {
    id: message.queueId,
    date: now,
    direction: message.direction,
    from: message.mailFrom,
    to: [...message.rcpts],
    subject: await subjectOf(message.path, message.head),
    size: message.size + Buffer.byteLength(prepend.map((h) => `${h}\r\n`).join('')),
    ...(prepend.length > 0 ? { prepend } : {}),
  };
  await archiveOf(ctx.dataDir).add(meta, message.path, { maxBytes: s.get('archive.maxBytes'), maxAgeDays: s.get('archive.maxAgeDays') });
}

export const archiveStage: NamedStage = {
  name: 'archive',
  phase: 'record',
  async run(message, ctx) {
    try {
      await archiveMessage(message, ctx);
    } catch (err) {
      ctx.log.log('error', 'archive copy failed; message accepted all the same', { id: message.queueId, error: String(err) });
    }
    return { action: 'accept' };
  },
};
