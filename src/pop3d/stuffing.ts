// The multi-line response body of RETR and TOP (RFC 1939 §3): every line that begins with '.'
// gets one more '.', and the response ends with CRLF '.' CRLF. Works chunk by chunk on the file
// stream, so a message is never held whole in memory; lines split across chunks are handled.
// Yields one buffer per input chunk so that a large message is a few large socket writes.

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const LF_DOT = Buffer.from('\n.');
const TERMINATOR = Buffer.from('.\r\n');
const CRLF = Buffer.from('\r\n');
const DOT_BYTE = Buffer.from('.');

/**
 * Byte-stuff `source`. With `bodyLines` set (TOP, RFC 1939 §7), stop after the header, the blank
 * line that ends it, and that many body lines; returning early stops reading the file.
 */
export async function* dotStuff(source: AsyncIterable<Buffer | string>, bodyLines: number | null = null): AsyncGenerator<Buffer> {
  const cut = bodyLines === null ? null : new TopCut(bodyLines);
  let atLineStart = true;
  let last = LF;
  for await (const raw of source) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    if (cut) {
      const keep = cut.take(chunk);
      chunk = chunk.subarray(0, keep);
    }
    if (chunk.length > 0) {
      const parts: Buffer[] = [];
      if (atLineStart && chunk[0] === DOT) parts.push(DOT_BYTE);
      let from = 0;
      for (let i = chunk.indexOf(LF_DOT); i !== -1; i = chunk.indexOf(LF_DOT, i + 1)) {
        parts.push(chunk.subarray(from, i + 1), DOT_BYTE);
        from = i + 1;
      }
      parts.push(chunk.subarray(from));
      yield parts.length === 1 ? chunk : Buffer.concat(parts);
      last = chunk[chunk.length - 1] ?? last;
      atLineStart = last === LF;
    }
    if (cut?.done) break;
  }
  if (last !== LF) yield CRLF;
  yield TERMINATOR;
}

/** Finds where TOP's output ends: the header, its blank line, then `n` body lines. */
class TopCut {
  done = false;
  #inBody = false;
  #bodyLeft: number;
  /** The current line so far holds only CR (or nothing): it may be the blank line. */
  #lineBlank = true;

  constructor(bodyLines: number) {
    this.#bodyLeft = bodyLines;
  }

  /** How many bytes of `chunk` belong to the output. */
  take(chunk: Buffer): number {
    if (this.done) return 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b !== LF) {
        if (b !== CR) this.#lineBlank = false;
        continue;
      }
      if (this.#inBody) this.#bodyLeft -= 1;
      else if (this.#lineBlank) this.#inBody = true;
      this.#lineBlank = true;
      if (this.#inBody && this.#bodyLeft <= 0) {
        this.done = true;
        return i + 1;
      }
    }
    return chunk.length;
  }
}
