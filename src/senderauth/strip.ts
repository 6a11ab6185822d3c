// RFC 8601 §5: an Authentication-Results field that names our authserv-id but arrived from outside
// is a forgery meant to fool the reader's mail client; it is removed before delivery. The copy is
// streamed: header block in memory (bounded), body piped from the spool file.
import type { FileHead } from '../mail/types.ts';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { readHeaderBlock } from '../mime/header-block.ts';

/** Split a raw header block into fields, each with its continuation lines and line ends. */
function fields(raw: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x0a) continue;
    const next = raw[i + 1];
    if (next === 0x20 || next === 0x09) continue; // folded: same field
    out.push(raw.subarray(start, i + 1));
    start = i + 1;
  }
  if (start < raw.length) out.push(raw.subarray(start));
  return out;
}

function claimsUs(field: Buffer, authservId: string): boolean {
  const text = field.toString('latin1');
  const m = /^authentication-results[ \t]*:([\s\S]*)$/i.exec(text);
  if (!m) return false;
  // authserv-id is the first token, before ";" (RFC 8601 §2.2), maybe followed by a version.
  const id = (m[1] ?? '').replace(/\([^)]*\)/g, '').split(';')[0]?.trim().split(/\s+/)[0]?.replace(/^"|"$/g, '') ?? '';
  return id.toLowerCase() === authservId.toLowerCase();
}

/**
 * If the message carries Authentication-Results fields claiming `authservId`, write a copy without
 * them to `outPath` (fsynced) and return how many were removed; else 0 and no file is written.
 */
export async function stripForgedResults(path: string, outPath: string, authservId: string, head?: FileHead, maxHeaderBytes?: number): Promise<number> {
  const { raw, bodyOffset } = await readHeaderBlock(path, maxHeaderBytes, head);
  const all = fields(raw);
  const kept = all.filter((f) => !claimsUs(f, authservId));
  const removed = all.length - kept.length;
  if (removed === 0) return 0;
  const out = await open(outPath, 'wx', 0o600);
  try {
    await out.write(Buffer.concat(kept));
    // The blank line and the body, byte for byte.
    if (bodyOffset > raw.length) {
      for await (const chunk of createReadStream(path, { start: raw.length, highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) await out.write(chunk);
    }
    await out.sync();
  } finally {
    await out.close();
  }
  return removed;
}
