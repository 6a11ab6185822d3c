// Reads CRLF-terminated command lines from a socket, bounded: a line longer than the limit is
// discarded up to its end and reported as overlong, and the socket is paused while a few lines
// wait (a pipelining client, RFC 2449 §6.6, cannot make us buffer without end).
import type { Socket } from 'node:net';

export type Line = { readonly kind: 'line'; readonly text: string } | { readonly kind: 'overlong' };

const MAX_QUEUED = 16;

export class LineReader {
  readonly #max: number;
  #socket: Socket | null = null;
  #partial: Buffer[] = [];
  #partialLength = 0;
  #discarding = false;
  #queue: Line[] = [];
  /** Unread rest of a chunk, kept while the queue is full (at most one socket chunk). */
  #rest: Buffer | null = null;
  #ended = false;
  #waiter: ((line: Line | null) => void) | null = null;
  // Chunks still in flight after pause() join the kept rest, in order.
  readonly #onData = (chunk: Buffer) => (this.#rest ? (this.#rest = Buffer.concat([this.#rest, chunk])) : this.#push(chunk));
  readonly #onEnd = () => this.#end();

  /** `maxLength`: the longest line accepted, in octets, without its CRLF. */
  constructor(maxLength: number) {
    this.#max = maxLength;
  }

  attach(socket: Socket): void {
    this.#socket = socket;
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
  }

  /**
   * Stop reading from the socket and forget whatever it sent after the last line taken
   * (RFC 2595 §4 and CVE-2011-0411: plaintext pipelined behind STLS must not run inside TLS).
   */
  detach(): void {
    const s = this.#socket;
    if (s) {
      s.off('data', this.#onData);
      s.off('end', this.#onEnd);
      s.off('close', this.#onEnd);
      s.pause();
    }
    this.#socket = null;
    this.#partial = [];
    this.#partialLength = 0;
    this.#discarding = false;
    this.#queue = [];
    this.#rest = null;
  }

  /** The session is over: stop reading, and answer a waiting next() with null. */
  close(): void {
    this.detach();
    this.#end();
  }

  /** The next line, or null when the peer has gone. */
  next(): Promise<Line | null> {
    if (this.#rest && this.#queue.length < MAX_QUEUED) {
      const rest = this.#rest;
      this.#rest = null;
      this.#push(rest);
    }
    const line = this.#queue.shift();
    if (!this.#rest && this.#queue.length < MAX_QUEUED / 2) this.#socket?.resume();
    if (line) return Promise.resolve(line);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  #deliver(line: Line): void {
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = null;
      waiter(line);
      return;
    }
    this.#queue.push(line);
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.(null);
  }

  #push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      if (this.#queue.length >= MAX_QUEUED) {
        this.#rest = chunk.subarray(start);
        this.#socket?.pause();
        return;
      }
      const lf = chunk.indexOf(0x0a, start);
      const end = lf === -1 ? chunk.length : lf;
      const piece = chunk.subarray(start, end);
      if (!this.#discarding) {
        // +1: the CR before LF is not part of the line but arrives in it.
        if (this.#partialLength + piece.length > this.#max + 1) {
          this.#discarding = true;
          this.#partial = [];
          this.#partialLength = 0;
        } else {
          this.#partial.push(piece);
          this.#partialLength += piece.length;
        }
      }
      if (lf === -1) return;
      start = lf + 1;
      if (this.#discarding) {
        this.#discarding = false;
        this.#deliver({ kind: 'overlong' });
      } else {
        let text = Buffer.concat(this.#partial, this.#partialLength).toString('utf8');
        if (text.endsWith('\r')) text = text.slice(0, -1);
        this.#partial = [];
        this.#partialLength = 0;
        this.#deliver({ kind: 'line', text });
      }
    }
  }
}
