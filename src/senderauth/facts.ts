// What sender authentication tells later stages, typed, in the message's memo (the spam score
// reads it there instead of parsing our own Authentication-Results field again).
import { memoKey } from '../pipeline/stage.ts';
import type { AuthResults } from './verify.ts';
import type { DmarcEvaluated } from '../events/bus.ts';
import type { MessageContext, Verdict } from '../pipeline/stage.ts';

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

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** The aggregate-report row of one message, when its author domain asks for reports (rua). */
export function dmarcRow(r: AuthResults, message: Pick<MessageContext, 'client' | 'mailFrom' | 'rcpts'>, action: Verdict['action']): DmarcEvaluated | null {
  const report = r.dmarc?.report;
  if (!r.dmarc || !report || r.dmarc.result === 'temperror') return null;
  const { policyDomain, rua, dkimAligned, spfAligned, ...published } = report;
  const passed = r.dmarc.result === 'pass';
  const disposition = passed ? (report.p === 'none' ? 'none' : 'pass') : action === 'reject' ? 'reject' : action === 'quarantine' ? 'quarantine' : 'none';
  return {
    at: Date.now(),
    sourceIp: message.client.address,
    headerFrom: r.dmarc.domain,
    envelopeFrom: message.mailFrom ? domainOf(message.mailFrom) : message.client.helo,
    envelopeTo: message.rcpts[0] ? domainOf(message.rcpts[0]) : '',
    policyDomain,
    published,
    rua,
    disposition,
    dkimAligned,
    spfAligned,
    dkim: r.dkim.map((d) => ({ domain: d.domain, selector: d.selector, result: d.result })),
    spf: r.spf.domain ? { domain: r.spf.domain, result: r.spf.result } : null,
  };
}
