// What sender authentication tells later stages, typed, in the message's memo (the spam score
// reads it there instead of parsing our own Authentication-Results field again).
import { memoKey } from '../pipeline/stage.ts';
import type { AuthResults } from './verify.ts';

/** Method → result as in Authentication-Results (RFC 8601 §2.7): spf, sender-id, dkim, dmarc, arc. */
export type AuthSummary = Readonly<Record<string, string>>;

export const AUTH_RESULTS = memoKey<AuthSummary>('senderauth.results');

/** One result per method: the first DKIM signature's, as the field lists them first. */
export function summarize(r: AuthResults): AuthSummary {
  const out: Record<string, string> = { spf: r.spf.result, 'sender-id': r.senderId.result };
  if (r.dkim[0]) out.dkim = r.dkim[0].result;
  if (r.dmarc) out.dmarc = r.dmarc.result;
  if (r.arc) out.arc = r.arc.result;
  return out;
}
