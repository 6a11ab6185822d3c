// Export to mbox in the mboxrd flavour (as mutt, Thunderbird and Python's mailbox read it): each
// message starts with a "From sender asctime" line; body lines matching /^>*From / get one more
// ">" so that no line inside a message can pass for the start of the next. Lines end in LF.
// Streamed: one message file at a time, in chunks.
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Archive, ArchiveQuery } from './store.ts';

const LF = 0x0a;
const CR = 0x0d;
/** Enough of a line's start to decide quoting; a longer run of '>' is not a From_ line anyway. */
const DECIDE_BYTES = 1024;

/** CRLF → LF and mboxrd quoting of one message's bytes. */
export class MboxrdBody extends Transform {
  #pending: Buffer = Buffer.alloc(0);
  /** Inside a long line whose start was already written. */
  #midLine = false;
  #lastByte = LF;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = Buffer.alloc(0);
    for (;;) {
      const nl = data.indexOf(LF);
      if (nl < 0) break;
      this.#emitLine(data.subarray(0, nl), true);
      data = data.subarray(nl + 1);
    }
    if (data.length === 0) return done();
    if (this.#midLine || data.length >= DECIDE_BYTES) {
      // A long line: write what we have, but keep a trailing CR in case its LF comes next.
      const keep = data[data.length - 1] === CR ? 1 : 0;
      this.#emitLine(data.subarray(0, data.length - keep), false);
      this.#pending = Buffer.from(data.subarray(data.length - keep));
    } else this.#pending = Buffer.from(data);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#pending.length > 0) this.#emitLine(this.#pending, false);
    // Every message ends with a line end, then the empty line that separates it from the next.
    this.push(Buffer.from(this.#lastByte === LF ? '\n' : '\n\n'));
    done();
  }

  #emitLine(line: Buffer, complete: boolean): void {
    let body = line;
    if (complete && body.length > 0 && body[body.length - 1] === CR) body = body.subarray(0, body.length - 1);
    if (!this.#midLine && isFromLine(body)) this.push(Buffer.from('>'));
    if (body.length > 0) this.push(body);
    if (complete) {
      this.push(Buffer.from('\n'));
      this.#lastByte = LF;
    } else if (body.length > 0) this.#lastByte = body[body.length - 1]!;
    this.#midLine = !complete;
  }
}

function isFromLine(line: Buffer): boolean {
  let i = 0;
  while (i < line.length && line[i] === 0x3e) i++; // '>'
  return line.subarray(i, i + 5).toString('latin1') === 'From ';
}

/** The From_ line: envelope sender (MAILER-DAEMON for the null sender) and asctime in UTC. */
export function fromLine(sender: string, date: number): string {
  const d = new Date(date);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  const asctime = `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
  const who = sender === '' ? 'MAILER-DAEMON' : sender.replace(/\s/g, '_');
  return `From ${who} ${asctime}\n`;
}

async function* prefixed(fields: string, source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  if (fields) yield Buffer.from(fields, 'utf8');
  yield* source;
}

/** Write every matching archived message to `out` as mboxrd; returns how many. `out` is not ended. */
export async function exportMbox(archive: Archive, query: ArchiveQuery, out: Writable): Promise<number> {
  let count = 0;
  for await (const m of archive.search(query)) {
    const source = createReadStream(m.path, { highWaterMark: 64 * 1024 });
    try {
      await new Promise<void>((resolve, reject) => {
        out.write(fromLine(m.from, m.date), (err) => (err ? reject(err) : resolve()));
      });
      // The fields the content checks added go in front, as when the message left.
      const fields = (m.prepend ?? []).map((h) => `${h}\r\n`).join('');
      await pipeline(prefixed(fields, source), new MboxrdBody(), out, { end: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // dropped by the limits meanwhile
      throw err;
    }
    count++;
  }
  return count;
}
