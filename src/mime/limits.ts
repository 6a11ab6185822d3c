// The MIME structure limits (mime.* settings) and the refusal a message beyond one gets.
import type { Reply } from '../mail/types.ts';

export interface MimeLimits {
  /** Top-level header block, bytes. */
  readonly maxHeaderBytes: number;
  /** Header block of a part below the top, bytes. */
  readonly maxPartHeaderBytes: number;
  /** Parts of every level. */
  readonly maxParts: number;
  /** Multipart nesting. */
  readonly maxDepth: number;
}

export type MimeLimitKind = 'header' | 'part-header' | 'parts' | 'depth';

/** A message beyond a MIME limit. `reply` is what the client hears (RFC 3463 codes). */
export class MimeLimitError extends Error {
  override readonly name = 'MimeLimitError';
  readonly kind: MimeLimitKind;
  readonly reply: Reply;
  constructor(kind: MimeLimitKind, text: string) {
    super(text);
    this.kind = kind;
    // Sizes are "message too big for system" (5.3.4); structure is a media error (5.6.0).
    this.reply = kind === 'header' || kind === 'part-header'
      ? { code: 552, enhanced: '5.3.4', text: `Message refused: ${text}` }
      : { code: 554, enhanced: '5.6.0', text: `Message refused: ${text}` };
  }
}

const kib = (n: number) => (n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`);

export function headerTooLarge(limits: MimeLimits, top: boolean, partId: string): MimeLimitError {
  return top
    ? new MimeLimitError('header', `header block is larger than ${kib(limits.maxHeaderBytes)} (mime.maxHeaderBytes)`)
    : new MimeLimitError('part-header', `header of MIME part ${partId || 'below the top'} is larger than ${kib(limits.maxPartHeaderBytes)} (mime.maxPartHeaderBytes)`);
}

export function tooManyParts(limits: MimeLimits): MimeLimitError {
  return new MimeLimitError('parts', `more than ${limits.maxParts} MIME parts (mime.maxParts)`);
}

export function nestedTooDeep(limits: MimeLimits): MimeLimitError {
  return new MimeLimitError('depth', `MIME parts nested deeper than ${limits.maxDepth} levels (mime.maxDepth)`);
}
