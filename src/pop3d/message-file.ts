// One message file read for RETR or TOP in bounded chunks, with as few file system calls as
// possible. The Maildir name's size (S=) sizes the first read, so a message of up to one chunk
// takes one open, one read and one close; a wrong size costs more reads, never bytes.
//
// Calls are synchronous while the file system answers fast. A read from the page cache takes a few
// microseconds, while a round trip through libuv's thread pool costs around a hundred of
// main-thread time on a host where every system call is expensive (gVisor: RETR throughput
// halves), and queues behind the spool's fsyncs. When synchronous calls turn slow (a cold cache on
// an SD card, a busy disk) every read goes through the thread pool for a while, so the event loop
// that also serves SMTP is held up only by the few calls that showed it. A single slow call is not
// enough: on a loaded host the process is often descheduled in the middle of a fast one.
import { open, read, openSync, readSync, closeSync } from 'node:fs';

/** The largest read, and so the most of a message held at once per read in flight. */
export const CHUNK = 64 * 1024;

export interface SyncLimits {
  /** A synchronous call that took longer than this is slow. */
  readonly slowMs: number;
  /** This many slow calls in a row switch to the thread pool... */
  readonly slowInARow: number;
  /** ...and so does a single call longer than this. */
  readonly stuckMs: number;
  /** For this long. */
  readonly asyncForMs: number;
}

/** Whether to call the file system synchronously now, learnt from how long such calls took. */
export class SyncWhileFast {
  readonly #limits: SyncLimits;
  readonly #now: () => number;
  #asyncUntil = 0;
  #slowInARow = 0;

  constructor(limits: SyncLimits, now: () => number = () => performance.now()) {
    this.#limits = limits;
    this.#now = now;
  }

  get sync(): boolean {
    return this.#now() >= this.#asyncUntil;
  }

  /** Run a synchronous call, timing it. */
  run<T>(call: () => T): T {
    const started = this.#now();
    try {
      return call();
    } finally {
      const took = this.#now() - started;
      this.#slowInARow = took > this.#limits.slowMs ? this.#slowInARow + 1 : 0;
      if (this.#slowInARow >= this.#limits.slowInARow || took > this.#limits.stuckMs) this.useThreadPoolFor(this.#limits.asyncForMs);
    }
  }

  /** Go through the thread pool for the next `ms` (0: decide by timing again). */
  useThreadPoolFor(ms: number): void {
    this.#asyncUntil = this.#now() + ms;
    this.#slowInARow = 0;
  }
}

/** One policy for the whole process: a slow disk is slow for every session. */
export const fileCalls = new SyncWhileFast({ slowMs: 2, slowInARow: 3, stuckMs: 50, asyncForMs: 30_000 });

export class MessageFile {
  readonly #fd: number;
  /** Bytes the file is expected to hold (the name's S=, or stat's size at login). */
  readonly #expected: number;
  #position = 0;
  #eof = false;
  /** The read in flight, if any: close waits for it so that the fd is never reused under it. */
  #reading: Promise<unknown> = Promise.resolve();
  /** A chunk read ahead, for the next read(). */
  #ahead: Promise<Buffer | null> | null = null;
  #closed = false;

  private constructor(fd: number, expected: number) {
    this.#fd = fd;
    this.#expected = expected;
  }

  static open(path: string, expected: number): Promise<MessageFile> {
    if (fileCalls.sync) return new Promise((resolve) => resolve(new MessageFile(fileCalls.run(() => openSync(path, 'r')), expected)));
    return new Promise((resolve, reject) => {
      open(path, 'r', (err, fd) => (err ? reject(err) : resolve(new MessageFile(fd, expected))));
    });
  }

  /** The last read reached the end: the next read() gives null. */
  get ended(): boolean {
    return this.#eof;
  }

  /** The next chunk (at most CHUNK bytes), or null at the end of the file. One read at a time. */
  read(): Promise<Buffer | null> {
    const ahead = this.#ahead;
    this.#ahead = null;
    return ahead ?? this.#read();
  }

  /** Read the first chunk now, for a read() that is likely to come (RETR of the next message). */
  readAhead(): void {
    if (this.#ahead || this.#position > 0) return;
    this.#ahead = this.#read();
  }

  #read(): Promise<Buffer | null> {
    if (this.#eof || this.#closed) return Promise.resolve(null);
    // One byte past the expected end: a short read then proves the end without another read.
    const length = this.#position < this.#expected ? Math.min(CHUNK, this.#expected - this.#position + 1) : CHUNK;
    const buffer = Buffer.allocUnsafe(length);
    const reading = fileCalls.sync
      ? new Promise<Buffer | null>((resolve) => resolve(this.#took(buffer, fileCalls.run(() => readSync(this.#fd, buffer, 0, length, this.#position)))))
      : new Promise<Buffer | null>((resolve, reject) => {
          read(this.#fd, buffer, 0, length, this.#position, (err, n) => (err ? reject(err) : resolve(this.#took(buffer, n))));
        });
    // Handled here, so a read that fails after its session has gone is no unhandled rejection;
    // whoever awaits the read still gets the error.
    this.#reading = reading.catch(() => undefined);
    return reading;
  }

  /** Account for `n` bytes read into `buffer`; the chunk, or null at the end. */
  #took(buffer: Buffer, n: number): Buffer | null {
    this.#position += n;
    // A short read at or past the expected size is the end; before it, look again (0 is the end).
    if (n === 0 || (n < buffer.length && this.#position >= this.#expected)) this.#eof = true;
    return n === 0 ? null : buffer.subarray(0, n);
  }

  /**
   * Close once the read in flight has finished. Synchronously even when reads are not: closing a
   * file opened read-only writes nothing, and costs microseconds.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.#reading.then(() => {
      try {
        closeSync(this.#fd);
      } catch {
        // Nothing to do about a failed close of a file only read.
      }
    });
  }
}
