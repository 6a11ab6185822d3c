// The one mailbox quota rule, used at RCPT, at the end of DATA and at delivery (Dovecot's
// quota_grace): a mailbox under its quota takes the next message whole even if that takes it over;
// a mailbox at or over it is full (temporary: 452 4.2.2, the user may make room); a message larger
// than the quota itself can never fit (permanent: 552 5.2.2). Sizes are the message as spooled,
// without the fields delivery adds, the same number at every step.
import type { Reply } from '../mail/types.ts';

export type QuotaFit = 'fits' | 'full' | 'too-big';

/** `quota` 0 is unlimited. */
export function quotaFit(quota: number, usage: number, size: number): QuotaFit {
  if (quota === 0) return 'fits';
  if (size > quota) return 'too-big';
  if (usage >= quota) return 'full';
  return 'fits';
}

export function quotaReply(fit: Exclude<QuotaFit, 'fits'>, address: string, size: number): Reply {
  return fit === 'full'
    ? { code: 452, enhanced: '4.2.2', text: `<${address}>: mailbox full, try again later` }
    : { code: 552, enhanced: '5.2.2', text: `Message of ${size} bytes is larger than the recipient's mailbox quota (<${address}>)` };
}
