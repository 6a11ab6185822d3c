// Reads the header block of a spooled message as a stream, stopping at the blank line: the
// checks that need only headers (Sender ID's PRA, signing-domain choice) never read the body.
import { createReadStream } from 'node:fs';
import type { FileHead } from '../mail/types.ts';

export interface HeaderField {
  /** Name as written. */
  name: string;
  /** Lower-case name, for matching. */
  key: string;
  /** Unfolded value (RFC 5322 §2.2.3), leading whitespace trimmed. */
  value: string;
}

/** RFC 5322 §2.1.1 bounds a line; a header block beyond this is not a message we accept. */
export const MAX_HEADER_BYTES = 256 * 1024;

export class HeaderError extends Error {
  override readonly name = 'HeaderError';
}

/** The header fields of the message at `path`, in order (from `head` when the block is in it). */
export async function readHeaders(path: string, maxBytes = MAX_HEADER_BYTES, head?: FileHead): Promise<HeaderField[]> {
  const { raw } = await readHeaderBlock(path, maxBytes, head);
  return parseHeaderBlock(raw.toString('latin1'));
}

/** The raw header block (with its line ends, without the blank line) and where the body starts. */
export async function readHeaderBlock(path: string, maxBytes = MAX_HEADER_BYTES, head?: FileHead): Promise<{ raw: Buffer; bodyOffset: number }> {
  if (head) {
    const end = findHeaderEnd(head.bytes, 0);
    if (end >= 0 && end <= maxBytes) return { raw: Buffer.from(head.bytes.subarray(0, end)), bodyOffset: end + (head.bytes[end] === 0x0d ? 2 : 1) };
    if (end < 0 && head.whole && head.bytes.length <= maxBytes) return { raw: Buffer.from(head.bytes), bodyOffset: head.bytes.length };
  }
  const stream = createReadStream(path, { highWaterMark: 16 * 1024 });
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      // Look for the end of the header block across the chunk boundary.
      const start = Math.max(0, total - 3);
      chunks.push(chunk);
      total += chunk.length;
      const joined = chunks.length === 1 ? chunk : Buffer.concat(chunks);
      const end = findHeaderEnd(joined, start);
      if (end >= 0) {
        const blank = joined[end] === 0x0d ? 2 : 1;
        return { raw: Buffer.from(joined.subarray(0, end)), bodyOffset: end + blank };
      }
      if (total > maxBytes) throw new HeaderError(`header block is larger than ${maxBytes} bytes`);
      if (chunks.length > 1) chunks.splice(0, chunks.length, joined);
    }
  } finally {
    stream.destroy();
  }
  // A message without a body: the whole file is headers.
  const raw = Buffer.concat(chunks);
  return { raw, bodyOffset: raw.length };
}

function findHeaderEnd(buf: Buffer, from: number): number {
  if (from === 0 && (buf[0] === 0x0a || (buf[0] === 0x0d && buf[1] === 0x0a))) return 0;
  const crlf = buf.indexOf('\r\n\r\n', from);
  const lf = buf.indexOf('\n\n', from);
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 2;
  return lf >= 0 ? lf + 1 : -1;
}

/** Split a header block (latin1 text, so bytes survive) into fields, unfolding continuation lines. */
export function parseHeaderBlock(block: string): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '') continue;
    const last = fields.at(-1);
    if ((line[0] === ' ' || line[0] === '\t') && last) {
      last.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // not a field (RFC 5322 §3.6.8 needs a name and a colon)
    const name = line.slice(0, colon).trimEnd();
    fields.push({ name, key: name.toLowerCase(), value: line.slice(colon + 1).trimStart() });
  }
  for (const f of fields) f.value = f.value.replace(/\r?\n/g, '').trim();
  return fields;
}
