// src/mime/splitter.ts replaces mailsplit's line loop (synchronous, plain body lines without
// processLine). It must split every message exactly as upstream does: the same items, nodes and
// bytes, for any chunking of the input, and the same errors. Compared here over the DKIM corpora
// in ../shared/conformance and hand-made messages with the edge cases of the loop.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import { newSplitter } from '../../src/mime/mime.ts';
import { conformanceData } from '../conformance/data.ts';

const { Splitter } = createRequire(import.meta.url)('mailsplit') as { Splitter: new (o: object) => Transform };
const limits = { maxHeaderBytes: 64 * 1024, maxPartHeaderBytes: 64 * 1024, maxParts: 500, maxDepth: 50 };
const upstream = () => new Splitter({ maxHeadSize: 64 * 1024, maxChildNodes: 500 });
const ours = () => newSplitter(limits);

interface Item {
  type: string;
  partNr?: string;
  contentType?: string;
  headers?: string;
  value?: string;
}

/** Feeds `message` in the given chunk sizes; returns what came out, or the error. */
async function split(make: () => Transform, message: Buffer, sizes: number[]): Promise<{ items: Item[]; error: string | null }> {
  const splitter = make();
  const items: Item[] = [];
  let error: string | null = null;
  const done = new Promise<void>((resolve) => {
    splitter.on('data', (item: { type: string; partNr?: unknown; contentType?: string; headers?: { build(): Buffer }; value?: Buffer }) => {
      if (item.type === 'node') {
        items.push({ type: 'node', partNr: String(item.partNr), contentType: String(item.contentType), headers: item.headers?.build().toString('latin1') });
      } else {
        items.push({ type: item.type, value: item.value?.toString('latin1') });
      }
    });
    splitter.on('end', resolve);
    splitter.on('error', (err: Error) => {
      error = err.message;
      resolve();
    });
  });
  let at = 0;
  let k = 0;
  while (at < message.length) {
    const size = sizes[k++ % sizes.length]!;
    splitter.write(message.subarray(at, at + size));
    at += size;
  }
  splitter.end();
  await done;
  return { items, error };
}

/** A message written with LF line ends, turned into CRLF as messages are spooled. */
const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'latin1');

const corpus: Array<[string, Buffer]> = [];
// The DKIM corpora of test/conformance/dkim-vectors.
const corpusDir = join(conformanceData, 'dkim');
const walk = (dir: string): void => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.eml')) corpus.push([path.slice(corpusDir.length + 1), readFileSync(path)]);
  }
};
walk(corpusDir);

const mixed = `From: a@example.com
To: b@example.com
Subject: parts
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

preamble line
-- not a boundary
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

plain text
- dash line
--
-
--innerish
.
--inner
Content-Type: text/html

<p>html</p>
--inner--
--outer
Content-Type: application/octet-stream; name="a.bin"
Content-Disposition: attachment; filename="a.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v
MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f
--outer
Content-Type: message/rfc822
Content-Disposition: inline

From: inner@example.com
Subject: attached
Content-Type: text/plain

inner body
--outer   
Content-Type: text/plain

after a boundary with trailing spaces
--outer--
epilogue
`;

const cases: Array<[string, Buffer]> = [
  ...corpus,
  ['multipart, CRLF', crlf(mixed)],
  ['multipart, LF only', Buffer.from(mixed, 'latin1')],
  ['single part, long body', crlf('Subject: long\n\n' + 'x'.repeat(70).concat('\n').repeat(3000))],
  ['short lines and bare CRs', Buffer.from('Subject: s\r\n\r\na\r\n\r\n-\r\n--\r\n\r\r\n\r\r\n--x\r\nb\rc\r\n\n\r\n.\r\n', 'latin1')],
  ['no trailing line end', Buffer.from('Subject: s\r\n\r\nlast line without end', 'latin1')],
  ['headers only', Buffer.from('Subject: s\r\nX-A: b\r\n', 'latin1')],
  ['empty', Buffer.alloc(0)],
  ['one-letter boundary, LF only', Buffer.from('Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n--b\n\ny\n--b--\n', 'latin1')],
  ['too many parts', crlf('Content-Type: multipart/mixed; boundary=b\n\n' + '--b\nContent-Type: text/plain\n\nx\n'.repeat(600) + '--b--\n')],
  ['header block too large', crlf('Subject: big\nX-Long: ' + 'y'.repeat(70 * 1024) + '\n\nbody\n')],
];

// Chunkings: whole, typical stream chunks, and odd small sizes that cut CRLFs and boundaries.
const chunkings: number[][] = [[1 << 20], [65536], [16384], [1], [2], [3], [5], [7, 13, 1, 64], [100, 1, 1, 3], [4093]];

for (const [name, message] of cases) {
  t.test(name, async (t) => {
    for (const sizes of chunkings) {
      // A byte at a time costs upstream a turn of the event loop per byte: small messages only.
      if (sizes[0]! < 4 && message.length > 20_000) continue;
      const mine = await split(ours, message, sizes);
      const theirs = await split(upstream, message, sizes);
      t.same(mine, theirs, `chunks of ${sizes.join(',')}: same items and error`);
    }
  });
}

t.test('the corpus was found', async (t) => {
  t.ok(corpus.length >= 10, `${corpus.length} messages from ${corpusDir}`);
});
