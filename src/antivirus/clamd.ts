// A clamd client: zINSTREAM over a unix socket or TCP (clamd(8), "INSTREAM"): the file goes in
// chunks, each prefixed by its length as a 4-byte big-endian number, ended by a zero-length chunk.
// The reply is "stream: OK" or "stream: <signature> FOUND". Bounded by size and time.
import { connect, type Socket } from 'node:net';
import { createReadStream } from 'node:fs';

export interface ClamdOptions {
  /** Unix socket path ("/run/clamav/clamd.ctl") or "host:port". */
  address: string;
  timeoutMs: number;
  /** Bytes sent at most; clamd's own StreamMaxLength must be at least this. */
  maxBytes: number;
}

export type ScanResult = { clean: true } | { clean: false; signature: string };

export class ClamdError extends Error {}

const CHUNK = 64 * 1024;
const MAX_REPLY = 4096;

function connectTo(address: string): Socket {
  if (address.startsWith('/')) return connect({ path: address });
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(address);
  if (!m) throw new ClamdError(`bad clamd address ${address}`);
  return connect({ host: m[1]!, port: Number(m[2]) });
}

export function scanFile(path: string, options: ClamdOptions): Promise<ScanResult> {
  return new Promise<ScanResult>((resolve, reject) => {
    const socket = connectTo(options.address);
    const file = createReadStream(path, { highWaterMark: CHUNK, end: options.maxBytes - 1 });
    let reply = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | null, result?: ScanResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      file.destroy();
      socket.destroy();
      if (err) reject(err);
      else resolve(result!);
    };
    const settle = (text: string) => {
      const result = parseReply(text, options.address);
      if (result instanceof Error) finish(result);
      else finish(null, result);
    };
    const timer = setTimeout(() => finish(new ClamdError(`clamd at ${options.address} did not answer within ${options.timeoutMs} ms`)), options.timeoutMs);

    socket.on('error', (err) => finish(new ClamdError(`clamd at ${options.address}: ${err.message}`)));
    socket.on('connect', () => {
      socket.write('zINSTREAM\0');
      file.on('data', (chunk) => {
        const data = chunk as Buffer;
        const size = Buffer.alloc(4);
        size.writeUInt32BE(data.length);
        // Back-pressure: pause the file while the socket's buffer drains.
        if (!socket.write(Buffer.concat([size, data]))) {
          file.pause();
          socket.once('drain', () => file.resume());
        }
      });
      file.on('end', () => socket.write(Buffer.alloc(4)));
      file.on('error', (err) => finish(err));
    });
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      if (reply.length > MAX_REPLY) return finish(new ClamdError('clamd reply too long'));
      const end = reply.indexOf(0);
      if (end >= 0) settle(reply.subarray(0, end).toString('utf8'));
    });
    socket.on('end', () => {
      if (reply.length > 0) settle(reply.toString('utf8'));
      else finish(new ClamdError(`clamd at ${options.address} closed the connection without a reply`));
    });
  }).catch((err: unknown) => {
    throw err instanceof ClamdError ? err : new ClamdError((err as Error).message);
  });
}

function parseReply(text: string, address: string): ScanResult | ClamdError {
  const line = text.trim();
  if (line === 'stream: OK') return { clean: true };
  const found = /^stream: (.+) FOUND$/.exec(line);
  if (found) return { clean: false, signature: found[1]! };
  return new ClamdError(`clamd at ${address} answered ${JSON.stringify(line.slice(0, 200))}`);
}
