// Replaces chosen MIME parts by a short text/plain notice, streaming: every other byte of the
// message is copied as it came (mailsplit splits and joins without re-encoding untouched parts).
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { newJoiner, newSplitter, partId, type MimeNode, type SplitItem } from '../mime/mime.ts';
import type { MimeLimits } from '../mime/limits.ts';

/** Base64 lines of 76 characters (RFC 2045 §6.8), CRLF between them. */
function base64Lines(text: string): string {
  return (Buffer.from(text, 'utf8').toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

class ReplaceParts extends Transform {
  readonly #notices: ReadonlyMap<string, string>;
  #dropping: MimeNode | null = null;

  constructor(notices: ReadonlyMap<string, string>) {
    super({ objectMode: true });
    this.#notices = notices;
  }

  override _transform(item: SplitItem, _enc: BufferEncoding, done: TransformCallback): void {
    if (item.type === 'node') {
      this.#dropping = null;
      const notice = this.#notices.get(partId(item));
      if (notice !== undefined && !item.multipart) {
        // Only the Content-* fields change; on the root part From/To/Subject stay as they were.
        for (const h of ['content-type', 'content-transfer-encoding', 'content-disposition', 'content-description', 'content-id']) item.headers.remove(h);
        item.headers.add('Content-Type', 'text/plain; charset=utf-8', Number.MAX_SAFE_INTEGER);
        item.headers.add('Content-Transfer-Encoding', 'base64', Number.MAX_SAFE_INTEGER);
        item.headers.add('Content-Disposition', 'inline', Number.MAX_SAFE_INTEGER);
        this.push(item);
        // A child part's last line break belongs to the boundary line that follows it.
        this.push({ type: 'body', node: item, value: Buffer.from(base64Lines(notice) + (item.root ? '\r\n' : '')) });
        this.#dropping = item;
        return done();
      }
    } else if (item.type === 'body' && item.node === this.#dropping) {
      return done();
    }
    done(null, item);
  }
}

/** Writes `dest` (fsynced) as `src` with each part in `notices` (part id → text) replaced. */
export async function replaceParts(src: string, dest: string, notices: ReadonlyMap<string, string>, limits: MimeLimits): Promise<void> {
  await pipeline(createReadStream(src), newSplitter(limits), new ReplaceParts(notices), newJoiner(), createWriteStream(dest, { mode: 0o600 }));
  const handle = await open(dest, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
