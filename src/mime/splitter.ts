// mailsplit's Splitter with a faster line loop. Upstream (5.4.6, MIT) walks a chunk byte by byte,
// hands every line to processLine, and waits a setImmediate before the next line: a 64 KiB chunk
// of 72-byte lines takes ~900 turns of the event loop and ~3 MiB of short-lived garbage. Inspecting
// a 50 MiB message took 3.5-4.5 s and ~2,400 young-generation collections; chunks lived across
// so many of them that V8 promoted most, and the dead ones piled up in the old generation until a
// full collection: RSS grew by up to 40 MiB (test/smtpd/memory). This loop finds line ends with
// indexOf, walks a chunk's lines in one go (processLine answers synchronously; the stream still
// yields between chunks), and lets plain body lines skip processLine (plainBodyLine says when that
// is exact): 0.18 s and ~200 collections for the same message. The rest is upstream's _transform;
// keep it in step with it. test/mime/splitter-equivalence compares the two.
import type { Transform, TransformCallback } from 'node:stream';

/** What the loop uses of a Splitter's internals (mailsplit/lib/message-splitter.js). */
interface SplitterInternals extends Transform {
  line: Buffer | false;
  hasFailed: boolean;
  state: number;
  node: { multipart: string | false };
  nodeCounter: number;
  maxChildNodes: number;
  processLine(line: Buffer, final: boolean, next: (err: Error | null, data?: Group | false, flush?: boolean) => void): void;
}

interface Group {
  type: string;
  node?: { parentNode: unknown };
  value?: Buffer;
}

type SplitterClass = new (options?: object) => Transform;

/** mailsplit's parser state for "in a part's body" (message-splitter.js: const BODY). */
const BODY = 0x02;

/**
 * A line processLine would only append to the body group being built: in a body, the group
 * already of the type this line would get, no partial line carried over, and the line cannot be a
 * boundary (checkBoundary wants "--" after at most two CR/LF; a line under 4 bytes never is one).
 * Skipping processLine for it saves an object per line, the bulk of the parser's garbage.
 */
function plainBodyLine(self: SplitterInternals, group: Group, chunk: Buffer, start: number, end: number): boolean {
  if (self.state !== BODY || self.line || self.nodeCounter > self.maxChildNodes) return false;
  if (group.type !== (self.node.multipart ? 'data' : 'body')) return false;
  const first = chunk[start];
  return end - start < 4 || (first !== 0x2d && first !== 0x0d && first !== 0x0a);
}

export function withSyncLines(Splitter: SplitterClass): SplitterClass {
  return class SyncLineSplitter extends Splitter {
    override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
      transformChunk(this as unknown as SplitterInternals, chunk, callback);
    }
  };
}

function transformChunk(self: SplitterInternals, chunk: Buffer, callback: TransformCallback): void {
  let pos = 0;
  let i = 0;
  let group: Group = { type: 'none' };
  let groupstart = self.line ? -self.line.length : 0;
  let groupend = 0;

  const checkTrailingLinebreak = (data: Group) => {
    if (data.type === 'body' && data.node?.parentNode && data.value && data.value.length) {
      if (data.value[data.value.length - 1] === 0x0a) {
        groupstart--;
        groupend--;
        pos--;
        if (data.value.length > 1 && data.value[data.value.length - 2] === 0x0d) {
          groupstart--;
          groupend--;
          pos--;
          if (groupstart < 0 && !self.line) {
            // store only <CR> as <LF> should be on the positive side
            self.line = Buffer.from([0x0d]);
          }
          data.value = data.value.subarray(0, data.value.length - 2);
        } else {
          data.value = data.value.subarray(0, data.value.length - 1);
        }
      } else if (data.value[data.value.length - 1] === 0x0d) {
        groupstart--;
        groupend--;
        pos--;
        data.value = data.value.subarray(0, data.value.length - 1);
      }
    }
  };

  // Upstream's per-line callback, unchanged but for its ending: it returns to the loop.
  const onLine = (data: Group | false | undefined, flush: boolean | undefined): void => {
    if (!data) return;
    if (flush) {
      if (group && group.type !== 'none') {
        if (group.type === 'body' && groupend >= groupstart && group.node?.parentNode) {
          // do not include the last line ending for body
          if (chunk[groupend - 1] === 0x0a) {
            groupend--;
            if (groupend >= groupstart && chunk[groupend - 1] === 0x0d) groupend--;
          }
        }
        if (groupstart !== groupend) {
          group.value = chunk.subarray(groupstart, groupend);
          if (groupend < i) data.value = chunk.subarray(groupend, i);
        }
        self.push(group);
        group = { type: 'none' };
        groupstart = groupend = i;
      }
      self.push(data);
      groupend = i;
      return;
    }
    if (data.type === group.type) {
      // shift slice end position forward
      groupend = i;
      return;
    }
    if (group.type === 'body' && groupend >= groupstart && group.node?.parentNode) {
      // do not include the last line ending for body
      if (chunk[groupend - 1] === 0x0a) {
        groupend--;
        if (groupend >= groupstart && chunk[groupend - 1] === 0x0d) groupend--;
      }
    }
    if (group.type !== 'none' && group.type !== 'node') {
      // we have a previous data/body chunk to output
      if (groupstart !== groupend) {
        group.value = chunk.subarray(groupstart, groupend);
        if (group.value && group.value.length) {
          self.push(group);
          group = { type: 'none' };
        }
      }
    }
    if (data.type === 'node') {
      self.push(data);
      groupstart = i;
      groupend = i;
    } else if (groupstart < 0) {
      groupstart = i;
      groupend = i;
      checkTrailingLinebreak(data);
      if (data.value && data.value.length) self.push(data);
    } else {
      // start new body/data chunk
      group = data;
      groupstart = groupend;
      groupend = i;
    }
  };

  const len = chunk.length;
  while (i < len) {
    const lf = chunk.indexOf(0x0a, i);
    if (lf === -1) {
      i = len;
      break;
    }
    i = lf;
    const start = Math.max(pos, 0);
    pos = ++i;
    if (plainBodyLine(self, group, chunk, start, i)) {
      // What onLine does with such a line: the group grows to its end.
      groupend = i;
      continue;
    }
    let failure: Error | null = null;
    let answered = false;
    self.processLine(chunk.subarray(start, i), false, (err, data, flush) => {
      answered = true;
      if (err) failure = err;
      else onLine(data, flush);
    });
    // The loop relies on processLine answering at once (it does in 5.4.6); fail loudly otherwise.
    if (!answered) failure = new Error('mailsplit processLine answered asynchronously: src/mime/splitter.ts needs updating');
    if (failure) {
      self.hasFailed = true;
      const err = failure;
      setImmediate(() => callback(err));
      return;
    }
  }

  // skip last linebreak for body
  if (pos >= groupstart + 1 && group.type === 'body' && group.node?.parentNode) {
    if (chunk[pos - 1] === 0x0a) {
      pos--;
      if (pos >= groupstart && chunk[pos - 1] === 0x0d) pos--;
    }
  }
  if (group.type !== 'none' && group.type !== 'node' && pos > groupstart) {
    // we have a leftover data/body chunk to push out
    group.value = chunk.subarray(groupstart, pos);
    if (group.value && group.value.length) {
      self.push(group);
      group = { type: 'none' };
    }
  }
  if (pos < chunk.length) {
    self.line = self.line ? Buffer.concat([self.line, chunk.subarray(pos)]) : chunk.subarray(pos);
  }
  callback();
}
