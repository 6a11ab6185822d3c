// Mailbox usage for quota checks, remembered for a moment. Listing a Maildir of thousands of
// messages for every RCPT and every delivery made the quota the dearest part of local mail. A
// listing is reused for up to USAGE_MAX_AGE_MS, plus what we delivered since; a POP3 deletion shows
// within that time. Quota is a soft limit anyway (a mailbox under it takes the next message whole,
// as Dovecot's quota_grace does), so a reading a second old decides the same.
import { usage } from './maildir.ts';

export const USAGE_MAX_AGE_MS = 1000;

interface Reading {
  bytes: number;
  at: number;
}

const readings = new Map<string, Reading>();
const listing = new Map<string, Promise<number>>();

/** Bytes in the Maildir at `root`, from a listing at most USAGE_MAX_AGE_MS old. */
export async function mailboxUsage(root: string, now = Date.now()): Promise<number> {
  const r = readings.get(root);
  if (r && now - r.at <= USAGE_MAX_AGE_MS) return r.bytes;
  // Concurrent RCPTs to one mailbox share a listing.
  let pending = listing.get(root);
  if (!pending) {
    const at = Date.now();
    pending = usage(root).then(
      (bytes) => {
        readings.set(root, { bytes, at });
        listing.delete(root);
        return bytes;
      },
      (err: unknown) => {
        listing.delete(root);
        throw err;
      },
    );
    listing.set(root, pending);
  }
  return pending;
}

/** A delivery added `bytes` to the Maildir at `root`. */
export function addedToMailbox(root: string, bytes: number): void {
  const r = readings.get(root);
  if (r) r.bytes += bytes;
}
