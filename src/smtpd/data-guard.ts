// Counts the DATA bytes actually sent (smtp-server only checks the SIZE a client declares) and
// detects bare CR or bare LF. A message carrying either is refused whole: a lone LF or CR next to
// a dot is how SMTP smuggling ends a message early at a downstream server that reads line ends
// loosely (CVE-2023-51764/51765/51766). We choose to reject rather than normalise, as Postfix's
// `smtpd_forbid_bare_newline = reject` does, so nothing ambiguous is ever stored or relayed.
// smtp-server itself ends DATA only at <CRLF>.<CRLF>, so no sequence here can end DATA.
import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;

export class DataGuard extends Transform {
  readonly maxBytes: number;
  bytes = 0;
  oversize = false;
  bareNewline: 'CR' | 'LF' | null = null;
  #prev = -1;

  constructor(maxBytes: number) {
    super({ highWaterMark: 64 * 1024 });
    this.maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bareNewline === null) this.#scan(chunk);
    if (this.bytes > this.maxBytes) this.oversize = true;
    // Once the message is refused, keep reading (the client is still sending) but store nothing more.
    if (this.oversize || this.bareNewline !== null) return done();
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    // smtp-server hands over the body up to and including the CRLF before ".": a trailing CR is bare.
    if (this.bareNewline === null && this.#prev === CR) this.bareNewline = 'CR';
    done();
  }

  // Jumps from line end to line end with Buffer.indexOf (native): a loop over every byte in
  // JavaScript cost ~3 ms per MiB. Reports the first bare CR or LF, as that loop did.
  #scan(chunk: Buffer): void {
    if (chunk.length === 0) return;
    // -1 is the CR that ended the previous chunk.
    let bareCr = this.#prev === CR && chunk[0] !== LF ? -1 : Infinity;
    for (let i = chunk.indexOf(CR); i !== -1 && bareCr === Infinity; i = chunk.indexOf(CR, i + 1)) {
      if (i + 1 < chunk.length && chunk[i + 1] !== LF) bareCr = i;
    }
    let bareLf = Infinity;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
      if ((i === 0 ? this.#prev : chunk[i - 1]) !== CR) {
        bareLf = i;
        break;
      }
    }
    if (bareCr !== Infinity || bareLf !== Infinity) {
      this.bareNewline = bareCr < bareLf ? 'CR' : 'LF';
      return;
    }
    this.#prev = chunk[chunk.length - 1]!;
  }
}
