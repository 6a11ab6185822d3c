// The Purported Responsible Address (RFC 4407 §2): the address Sender ID's "pra" scope checks.
import addressparser from 'nodemailer/lib/addressparser';
import type { HeaderField } from '../mime/header-block.ts';

export interface Pra {
  /** The mailbox, e.g. "user@example.com". */
  address: string;
  domain: string;
  /** The header it came from, lower case (resent-sender, resent-from, sender, from). */
  header: string;
}

export type PraOutcome = { ok: true; pra: Pra } | { ok: false; why: string };

/** RFC 4407 §2 steps 1–6 over the header fields in message order. */
export function findPra(headers: readonly HeaderField[]): PraOutcome {
  const nonEmpty = (f: HeaderField) => f.value.trim() !== '';
  // Step 1: the first Resent-Sender, unless a Resent-From precedes it with trace fields in between
  // (then that Resent-Sender belongs to an older resend than the Resent-From).
  const rsIndex = headers.findIndex((f) => f.key === 'resent-sender' && nonEmpty(f));
  if (rsIndex >= 0) {
    const rfIndex = headers.findIndex((f) => f.key === 'resent-from' && nonEmpty(f));
    const traceBetween =
      rfIndex >= 0 && rfIndex < rsIndex &&
      headers.slice(rfIndex + 1, rsIndex).some((f) => f.key === 'received' || f.key === 'return-path');
    if (!traceBetween) return single(headers[rsIndex]!);
  }
  // Step 2: the first Resent-From.
  const rf = headers.find((f) => f.key === 'resent-from' && nonEmpty(f));
  if (rf) return single(rf);
  // Step 3: Sender, if exactly one.
  const senders = headers.filter((f) => f.key === 'sender' && nonEmpty(f));
  if (senders.length > 1) return { ok: false, why: 'more than one Sender header (RFC 4407 §2 step 6)' };
  if (senders.length === 1) return single(senders[0]!);
  // Step 4: From, if exactly one.
  const froms = headers.filter((f) => f.key === 'from' && nonEmpty(f));
  if (froms.length === 1) return single(froms[0]!);
  return { ok: false, why: froms.length === 0 ? 'no Resent-Sender, Resent-From, Sender or From header' : 'more than one From header (RFC 4407 §2 step 6)' };
}

// Step 5: the chosen header must hold exactly one well-formed mailbox with a domain.
function single(field: HeaderField): PraOutcome {
  const parsed = addressparser(field.value);
  const boxes = parsed.flatMap((a) => ('group' in a && a.group ? a.group : [a]));
  if (boxes.length !== 1) return { ok: false, why: `${field.name} holds ${boxes.length} mailboxes, not one (RFC 4407 §2 step 5)` };
  const address = (boxes[0] as { address?: string }).address ?? '';
  const at = address.lastIndexOf('@');
  const domain = at > 0 ? address.slice(at + 1).toLowerCase().replace(/\.$/, '') : '';
  if (!domain || !/^[a-z0-9.-]+$/i.test(domain) || !domain.includes('.')) {
    return { ok: false, why: `${field.name} mailbox ${JSON.stringify(address)} has no usable domain (RFC 4407 §2 step 5)` };
  }
  return { ok: true, pra: { address, domain, header: field.key } };
}
