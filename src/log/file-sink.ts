// The log file under `npm start` (the board logs to journald instead): DATA/log/yubin.log, rotated
// by size as logrotate would — yubin.log → yubin.log.1 → … → yubin.log.N, the oldest dropped — so
// the folder never holds more than (keep + 1) × maxBytes. One write(2) per line on an O_APPEND
// descriptor: no buffer to lose in a crash, no worker thread, and a line is never split.
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { formatRecord, type LogLevel, type LogRecord, type LogSink } from './logger.ts';

export interface FileSinkOptions {
  dir: string;
  /** The file's name in `dir`. */
  name?: string;
  minimum: () => LogLevel;
  /** Bytes one file may reach before it is rotated (read at every line: live). */
  maxBytes: () => number;
  /** Rotated files kept beside the current one. */
  keep: () => number;
}

export interface FileSink extends LogSink {
  readonly path: string;
  close(): void;
}

export function fileSink(options: FileSinkOptions): FileSink {
  const name = options.name ?? 'yubin.log';
  const path = join(options.dir, name);
  let fd: number | undefined;
  let size = 0;
  /** After a failed write (disk full), wait before trying again rather than fail every line. */
  let brokenUntil = 0;

  const open = () => {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    fd = openSync(path, 'a', 0o600);
    size = fstatSync(fd).size;
  };

  const rotate = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    const keep = options.keep();
    rmSync(`${path}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) {
      try {
        renameSync(`${path}.${i}`, `${path}.${i + 1}`);
      } catch {
        // Not there yet: fewer rotations so far.
      }
    }
    if (keep > 0) renameSync(path, `${path}.1`);
    else rmSync(path, { force: true });
    open();
  };

  return {
    path,
    minimum: options.minimum,
    write(record: LogRecord) {
      if (brokenUntil > Date.now()) return;
      const line = Buffer.from(formatRecord(record) + '\n');
      try {
        if (fd === undefined) open();
        if (size > 0 && size + line.length > options.maxBytes()) rotate();
        writeSync(fd!, line);
        size += line.length;
      } catch (err) {
        brokenUntil = Date.now() + 10_000;
        process.stderr.write(`yubin: cannot write ${path}: ${(err as Error).message}; log lines go to stderr only for 10 s\n`);
      }
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
