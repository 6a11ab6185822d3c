// When to order a certificate: at two thirds of the served certificate's lifetime (day 60 of
// Let's Encrypt's 90, as certbot and Caddy do), at once when there is none or it lacks a name,
// and after a failure not before the backoff — 5 minutes doubling to 12 hours, or later when the
// CA's Retry-After says so. Let's Encrypt allows 5 failed validations per name per hour; this
// stays under it.

export const FIRST_BACKOFF_MS = 5 * 60_000;
export const MAX_BACKOFF_MS = 12 * 3600_000;

export function renewAt(notBefore: Date, notAfter: Date): number {
  const start = notBefore.getTime();
  return start + Math.round(((notAfter.getTime() - start) * 2) / 3);
}

export function backoffMs(failures: number, retryAfterMs?: number): number {
  const own = Math.min(FIRST_BACKOFF_MS * 2 ** Math.max(0, failures - 1), MAX_BACKOFF_MS);
  return Math.max(own, retryAfterMs ?? 0);
}

export interface Due {
  /** When the next order should be placed (ms since the epoch). */
  at: number;
  why: string;
}

export function nextOrder(o: {
  now: number;
  /** The served ACME certificate covering every wanted name, if there is one. */
  current: { notBefore: Date; notAfter: Date } | null;
  /** From the last failed attempt. */
  notBefore?: number;
}): Due {
  const base: Due = o.current
    ? { at: renewAt(o.current.notBefore, o.current.notAfter), why: 'renewal at two thirds of the lifetime' }
    : { at: o.now, why: 'no ACME certificate for every name yet' };
  if (o.notBefore !== undefined && o.notBefore > base.at) return { at: o.notBefore, why: `${base.why}, after the backoff` };
  return base;
}
