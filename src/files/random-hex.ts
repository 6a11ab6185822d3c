// Random hex for names (queue IDs, temp and Maildir file names), drawn from one 4 KiB pool of the
// system's CSPRNG (as crypto.randomUUID caches its entropy). Each randomBytes() call is a trip to
// the kernel: under gVisor ~40 us, and a 10 KiB message made four of them (3 % of ingest CPU).
import { randomBytes } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/** `bytes` random bytes as 2 × `bytes` lower-case hex digits. */
export function randomHex(bytes: number): string {
  if (bytes > POOL_BYTES) return randomBytes(bytes).toString('hex');
  if (used + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  const hex = pool.toString('hex', used, used + bytes);
  // Bytes handed out are wiped: nothing later can read them back from the pool.
  pool.fill(0, used, used + bytes);
  used += bytes;
  return hex;
}
