// Typed boundary around mailsplit (it ships no types): the streaming MIME splitter and joiner our
// content stages share, plus a bounded reader for the top-level header block.
import { createRequire } from 'node:module';
import type { FileHead } from '../mail/types.ts';
import { open } from 'node:fs/promises';
import type { Transform } from 'node:stream';
import { withSyncLines } from './splitter.ts';
import { headerTooLarge, tooManyParts, type MimeLimits } from './limits.ts';

export interface MimeHeaders {
  /** Full header lines ("Name: value", folds kept) of one field name. */
  get(key: string): string[];
  /** First value of a field, RFC 2047 words decoded, trimmed; '' when absent. */
  getFirst(key: string): string;
  hasHeader(key: string): boolean;
  add(key: string, value: string, index?: number): void;
  update(key: string, value: string): void;
  remove(key: string): void;
  build(): Buffer;
}

export interface MimeNode {
  type: 'node';
  root: boolean;
  parentNode: MimeNode | false;
  partNr: Array<number | string> | false;
  headers: MimeHeaders;
  contentType: string | false;
  multipart: string | false;
  filename: string | false;
  disposition: string | false;
  encoding: string | false;
  /** Bytes of this node's header block (mailsplit counts them as it reads). */
  _headerlen: number;
  _parsedContentType: { value: string; params: Record<string, string> };
  getDecoder(): Transform;
}

export interface MimeChunk {
  type: 'body' | 'data';
  node: MimeNode;
  value: Buffer;
}

export type SplitItem = MimeNode | MimeChunk;

interface MailsplitModule {
  Splitter: new (options?: { maxHeadSize?: number; maxChildNodes?: number; ignoreEmbedded?: boolean }) => Transform;
  Joiner: new () => Transform;
  Headers: new (raw: Buffer) => MimeHeaders;
}

// Loaded with the first message parsed (~9 MiB of RSS), not at start. The call keeps the literal
// form image/bundle.ts rewrites to a bundled require().
let loaded: MailsplitModule | undefined;
function mailsplit(): MailsplitModule {
  return (loaded ??= createRequire(import.meta.url)('mailsplit') as MailsplitModule);
}
let Splitter: MailsplitModule['Splitter'] | undefined;

/**
 * A splitter bounded by the mime.* limits, so a hostile message cannot grow the parser: mailsplit
 * stops with EMAXLEN past a header block of `maxHeadSize` or `maxChildNodes` nodes (limitError
 * names which). The splitter walks each chunk's lines in one go (splitter.ts says why).
 */
export function newSplitter(limits: MimeLimits): Transform {
  Splitter ??= withSyncLines(mailsplit().Splitter);
  return new Splitter({ maxHeadSize: Math.max(limits.maxHeaderBytes, limits.maxPartHeaderBytes), maxChildNodes: limits.maxParts });
}

/** The MimeLimitError for a splitter's EMAXLEN failure; null for any other error. */
export function limitError(err: unknown, splitter: Transform, limits: MimeLimits): Error | null {
  const e = err as NodeJS.ErrnoException;
  if (e?.code !== 'EMAXLEN') return null;
  if (/child nodes/i.test(e.message)) return tooManyParts(limits);
  const node = (splitter as unknown as { node?: MimeNode }).node;
  return headerTooLarge(limits, node?.root !== false, '');
}

export function newJoiner(): Transform {
  const { Joiner } = mailsplit();
  return new Joiner();
}

export function parseHeaders(raw: Buffer): MimeHeaders {
  const { Headers } = mailsplit();
  return new Headers(raw);
}

/** "1.2" for the second part of the first part; "" for the root. Stable between two passes. */
export function partId(node: MimeNode): string {
  return node.partNr ? node.partNr.filter((n) => typeof n === 'number').join('.') : '';
}

/** Reads the top-level header block (up to `max` bytes) of a message file, without the body. */
export async function readHead(path: string, max = 64 * 1024, head?: FileHead): Promise<MimeHeaders> {
  if (head && (head.whole || head.bytes.length >= max)) return headerBlockOf(head.bytes.subarray(0, max));
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await handle.read(buf, 0, max, 0);
    return headerBlockOf(buf.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

function headerBlockOf(data: Buffer): MimeHeaders {
  let end = data.indexOf('\r\n\r\n');
  let cut = end + 4;
  if (end < 0) {
    end = data.indexOf('\n\n');
    cut = end < 0 ? data.length : end + 2;
  }
  return parseHeaders(Buffer.from(data.subarray(0, cut)));
}

/** An unstructured header value: ASCII as is, otherwise RFC 2047 UTF-8 "B" encoded words. */
export function headerText(value: string): string {
  const flat = value.replace(/[\r\n\t]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(flat)) return flat;
  const words: string[] = [];
  let chunk = '';
  // Whole characters per word, at most 45 bytes each so a word stays under 75 characters (§2).
  for (const ch of flat) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join('\r\n ');
}
