// Line input on a raw byte stream (a serial line has no tty line discipline): we echo what is
// typed, handle backspace, Ctrl-U, Ctrl-C, Ctrl-D, swallow arrow-key escapes, bound the line,
// and can read without echo for passwords.
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Writer } from '../commands/types.ts';

/** `cancelled`: Ctrl-C abandoned the line; `interrupted`: on an empty line (the caller may say how to
 * stop; Ctrl-C itself only clears). */
export type ReadResult = { line: string; interrupted?: true; cancelled?: true } | { end: 'closed' | 'idle' | 'ctrl-d' };

export interface ReadOptions {
  secret?: boolean;
  /** Give up with { end: 'idle' } after this long without a key. */
  idleMs?: number;
}

export interface LineReaderOptions {
  /** Longest line accepted; further keys ring the bell. */
  maxLine?: number;
  /** Echo typed keys (off when the input is a pipe, whose writer already sees nothing to echo). */
  echo?: boolean;
}

/** Keys typed ahead of a prompt are kept up to this many; a flood beyond it is dropped. */
const MAX_TYPEAHEAD = 4096;

export class LineReader {
  readonly #input: Readable;
  readonly #out: Writer;
  readonly #maxLine: number;
  readonly #echo: boolean;
  readonly #decoder = new StringDecoder('utf8');
  #pending: string[] = [];
  #line: string[] = [];
  #escape: 0 | 1 | 2 = 0;
  #lastCr = false;
  #closed = false;
  #waiter: { secret: boolean; done: (r: ReadResult) => void; timer?: NodeJS.Timeout; idleMs?: number } | undefined;
  readonly #onData = (chunk: Buffer | string) => this.#feed(typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
  readonly #onEnd = () => this.close();

  constructor(input: Readable, out: Writer, options: LineReaderOptions = {}) {
    this.#input = input;
    this.#out = out;
    this.#maxLine = options.maxLine ?? 1024;
    this.#echo = options.echo ?? true;
    input.on('data', this.#onData);
    input.on('end', this.#onEnd);
    input.on('close', this.#onEnd);
    input.on('error', this.#onEnd);
  }

  read(options: ReadOptions = {}): Promise<ReadResult> {
    if (this.#waiter) return Promise.reject(new Error('one read at a time'));
    if (this.#closed) return Promise.resolve({ end: 'closed' });
    return new Promise((resolve) => {
      this.#line = [];
      this.#waiter = { secret: options.secret ?? false, done: resolve, ...(options.idleMs !== undefined ? { idleMs: options.idleMs } : {}) };
      this.#armIdle();
      this.#drain();
    });
  }

  /** What has been typed at the pending read (empty for a secret), or null when no read is pending. */
  typed(): string | null {
    if (!this.#waiter) return null;
    return this.#waiter.secret ? '' : this.#line.join('');
  }

  /** The input has ended (or close() was called): every read answers 'closed'. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stop reading: a pending read ends with 'closed'. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#input.off('data', this.#onData);
    this.#input.off('end', this.#onEnd);
    this.#input.off('close', this.#onEnd);
    this.#input.off('error', this.#onEnd);
    this.#finish({ end: 'closed' });
  }

  #armIdle(): void {
    const w = this.#waiter;
    if (!w || w.idleMs === undefined) return;
    clearTimeout(w.timer);
    w.timer = setTimeout(() => this.#finish({ end: 'idle' }), w.idleMs);
  }

  #finish(result: ReadResult): void {
    const w = this.#waiter;
    if (!w) return;
    clearTimeout(w.timer);
    this.#waiter = undefined;
    w.done(result);
  }

  #feed(text: string): void {
    for (const ch of text) {
      if (this.#pending.length >= MAX_TYPEAHEAD) break;
      this.#pending.push(ch);
    }
    if (this.#waiter) {
      this.#armIdle();
      this.#drain();
    }
  }

  #show(text: string): void {
    if (this.#echo) this.#out.write(text);
  }

  #drain(): void {
    while (this.#waiter && this.#pending.length > 0) this.#key(this.#pending.shift()!, this.#waiter.secret);
  }

  #key(ch: string, secret: boolean): void {
    const code = ch.codePointAt(0)!;
    const wasCr = this.#lastCr;
    this.#lastCr = false;
    // ESC [ … final byte: arrow and function keys; ignored rather than inserted as garbage.
    if (this.#escape === 1) {
      this.#escape = ch === '[' || ch === 'O' ? 2 : 0;
      return;
    }
    if (this.#escape === 2) {
      if (code >= 0x40 && code <= 0x7e) this.#escape = 0;
      return;
    }
    switch (code) {
      case 0x1b:
        this.#escape = 1;
        return;
      case 0x0d:
      case 0x0a: {
        // CR LF from a terminal is one Enter, not an Enter and an empty line.
        if (code === 0x0a && wasCr) return;
        this.#lastCr = code === 0x0d;
        this.#show('\r\n');
        const line = this.#line.join('');
        this.#line = [];
        this.#finish({ line });
        return;
      }
      case 0x7f:
      case 0x08:
        if (this.#line.length > 0) {
          this.#line.pop();
          if (!secret) this.#show('\b \b');
        }
        return;
      case 0x15: // Ctrl-U: kill the line
        if (!secret) this.#show('\b \b'.repeat(this.#line.length));
        this.#line = [];
        return;
      case 0x03: { // Ctrl-C: abandon the line
        this.#show('^C\r\n');
        const empty = this.#line.length === 0;
        this.#line = [];
        this.#finish(empty ? { line: '', interrupted: true, cancelled: true } : { line: '', cancelled: true });
        return;
      }
      case 0x04: // Ctrl-D on an empty line: end of input
        if (this.#line.length === 0) {
          this.#show('\r\n');
          this.#finish({ end: 'ctrl-d' });
        }
        return;
    }
    if (code < 0x20) return;
    if (this.#line.length >= this.#maxLine) {
      this.#show('\x07');
      return;
    }
    this.#line.push(ch);
    if (!secret) this.#show(ch);
  }
}
