// The bytes of a queued message as they leave: the content-check headers (entry.prepend) in front
// of the spool file, which already starts with our Received header. Streamed from disk.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { QueueEntry } from '../spool/entry.ts';

export function prependBytes(entry: QueueEntry): Buffer {
  return Buffer.from(entry.prepend.map((h) => h + '\r\n').join(''), 'utf8');
}

export function queuedMessage(entry: QueueEntry, path: string): Readable {
  const head = prependBytes(entry);
  return Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      yield* createReadStream(path, { highWaterMark: 64 * 1024 });
    })(),
    { objectMode: false },
  );
}
