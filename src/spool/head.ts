// The first bytes of a message as it is spooled, kept in memory (at most HEAD_BYTES) so that the
// content stages read the header block — and a small message whole — without opening the file
// again. Each reopen-and-read costs several system calls per stage; most mail is under 64 KiB.
import { Transform, type TransformCallback } from 'node:stream';

export const HEAD_BYTES = 64 * 1024;

import type { FileHead } from '../mail/types.ts';

export class HeadCapture extends Transform {
  readonly #chunks: Buffer[] = [];
  #kept = 0;

  /** `preface`: bytes already written to the file before this stream's (our Received header). */
  constructor(preface: Buffer) {
    super({ highWaterMark: 64 * 1024 });
    this.#keep(preface);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#keep(chunk);
    done(null, chunk);
  }

  #keep(chunk: Buffer): void {
    const room = HEAD_BYTES - this.#kept;
    if (room <= 0) return;
    // A reference, not a copy: stream chunks are never reused by their producer.
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(part);
    this.#kept += part.length;
  }

  /** The first min(size, HEAD_BYTES) bytes of a file of `size` bytes. */
  head(size: number): FileHead {
    const bytes = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#kept);
    return { bytes, whole: this.#kept >= size };
  }
}
