// The multi-line response body of RETR and TOP (RFC 1939 §3): every line that begins with '.'
// gets one more '.', and the response ends with CRLF '.' CRLF. Fed the message chunk by chunk as
// it is read, so a message is never held whole in memory; a line start, a '.' or a CRLF split
// across two chunks is carried over in the state. Synchronous: the caller batches what it gets
// into few large socket writes.

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const LF_DOT = Buffer.from('\n.');
const TERMINATOR = Buffer.from('.\r\n');
const CRLF_TERMINATOR = Buffer.from('\r\n.\r\n');
const DOT_BYTE = Buffer.from('.');

export class DotStuffer {
  readonly #cut: TopCut | null;
  /** The last byte of the message sent so far (LF before the first: the first byte starts a line). */
  #last = LF;

  /**
   * With `bodyLines` set (TOP, RFC 1939 §7) the output stops after the header, the blank line
   * that ends it, and that many body lines; `done` then says to read no further.
   */
  constructor(bodyLines: number | null = null) {
    this.#cut = bodyLines === null ? null : new TopCut(bodyLines);
  }

  /** Nothing more of the message belongs to the response (TOP has its lines). */
  get done(): boolean {
    return this.#cut?.done === true;
  }

  /** Append the stuffed form of the next `chunk` of the message to `out`. */
  push(chunk: Buffer, out: Buffer[]): void {
    if (this.#cut) chunk = chunk.subarray(0, this.#cut.take(chunk));
    if (chunk.length === 0) return;
    if (this.#last === LF && chunk[0] === DOT) out.push(DOT_BYTE);
    let from = 0;
    for (let i = chunk.indexOf(LF_DOT); i !== -1; i = chunk.indexOf(LF_DOT, i + 1)) {
      out.push(chunk.subarray(from, i + 1), DOT_BYTE);
      from = i + 1;
    }
    out.push(from === 0 ? chunk : chunk.subarray(from));
    this.#last = chunk[chunk.length - 1]!;
  }

  /** Append the end of the response: '.' CRLF, after a CRLF if the message did not end a line. */
  end(out: Buffer[]): void {
    out.push(this.#last === LF ? TERMINATOR : CRLF_TERMINATOR);
  }
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
    let from = 0;
    for (let lf = chunk.indexOf(LF); lf !== -1; from = lf + 1, lf = chunk.indexOf(LF, from)) {
      if (this.#inBody) this.#bodyLeft -= 1;
      else if (this.#lineBlank && onlyCr(chunk, from, lf)) this.#inBody = true;
      this.#lineBlank = true;
      if (this.#inBody && this.#bodyLeft <= 0) {
        this.done = true;
        return lf + 1;
      }
    }
    if (!this.#inBody && this.#lineBlank) this.#lineBlank = onlyCr(chunk, from, chunk.length);
    return chunk.length;
  }
}

function onlyCr(chunk: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (chunk[i] !== CR) return false;
  return true;
}
