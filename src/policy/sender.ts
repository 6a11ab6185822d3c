// MAIL FROM checks: the syntax of any reverse-path, and for the MSA whose it is.
import { parseEnvelopeAddress, type ParsedAddress } from '../address/parse.ts';
import { addressErrorReply, unusableForm, type UnusableForm } from '../address/reply.ts';
import type { Reply } from '../mail/types.ts';

export type SenderDecision =
  /** address: '' for the null sender; else local part as written @ the ASCII domain. */
  | { action: 'accept'; address: string; parsed: ParsedAddress }
  | ({ action: 'reject'; reason: UnusableForm | 'syntax' | 'too-long' | 'needs-smtputf8' } & Reply);

/**
 * Judge the reverse-path of MAIL FROM (smtp-server's address.address). The null sender <> is
 * accepted here (RFC 5321 §4.5.5: bounces use it); a source route is ignored (Appendix C).
 */
export function decideMailFrom(text: string, options: { smtputf8?: boolean } = {}): SenderDecision {
  const parsed = parseEnvelopeAddress(text, options);
  if (!parsed.ok) return { action: 'reject', reason: parsed.problem, ...addressErrorReply(parsed, 'sender') };
  if (parsed.flags.nullPath) return { action: 'accept', address: '', parsed };
  const unusable = unusableForm(parsed, 'sender');
  if (unusable) return { action: 'reject', reason: unusable.reason, ...unusable.reply };
  return { action: 'accept', address: `${parsed.local}@${parsed.asciiDomain}`, parsed };
}

/**
 * For the MSA: may authenticated `user` send as `mailFrom`? null when yes, else the reply.
 * The null sender is refused: it is reserved for delivery reports made by mail servers
 * (RFC 5321 §4.5.5), and mail without a return path from a logged-in user cannot be traced
 * back or bounced. Comparison is on the canonical form: case, trailing dots, needless quotes
 * and IDNA spelling do not matter.
 */
export function checkSenderOwnership(
  mailFrom: string,
  user: string,
  ownedAddresses: readonly string[],
  options: { smtputf8?: boolean } = {},
): Reply | null {
  const sender = decideMailFrom(mailFrom, options);
  if (sender.action === 'reject') return { code: sender.code, enhanced: sender.enhanced, text: sender.text };
  if (sender.address === '') {
    return { code: 553, enhanced: '5.7.1', text: `<>: Sender address rejected: the null sender is for delivery reports, not for mail from user ${user}` };
  }
  const owned = ownedAddresses.some((a) => {
    const o = parseEnvelopeAddress(a.trim(), { smtputf8: true });
    return o.ok && !o.flags.noDomain && o.canonical === sender.parsed.canonical;
  });
  if (owned) return null;
  return { code: 553, enhanced: '5.7.1', text: `<${sender.parsed.address}>: Sender address rejected: not owned by user ${user}` };
}
