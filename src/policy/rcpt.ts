// Where a RCPT TO is judged, whole: the held-mail cancel address, the relay table (relay.ts) with
// the routes it resolves, the recipient limit, and the mailbox quota (quota.ts). One answer per
// recipient: the routes decided here are the ones the message is queued with. The SMTP listener
// only translates smtp-server's hook into this call and the answer into a reply.
import { decideRcpt, RELAY_ATTEMPT_REASONS, type RelayClient, type RelaySite, type RejectReason } from './relay.ts';
import { quotaFit, quotaReply } from './quota.ts';
import type { Reply, Routed } from '../mail/types.ts';

export interface RcptSite extends RelaySite {
  maxRecipients: number;
  /** The held-mail notice's cancel address (src/hold/): cancelling is the whole effect. */
  cancel?: { isCancelAddress(address: string): boolean; cancelByAddress(address: string): Promise<Reply> };
  /** Mailbox quota (0: none) and usage in bytes, for the quota rule. */
  quotaOf(user: string): number;
  usageOf(user: string): Promise<number>;
}

export type RcptAnswer =
  | { kind: 'accept'; address: string; routes: Routed[] }
  /** A cancel address: accepted, nothing to deliver. */
  | { kind: 'cancelled'; address: string; reply: Reply }
  /** `relayAttempt`: the reason when this was a relay attempt (relay.denied event). `counts`: a bad command. */
  | { kind: 'refuse'; reply: Reply; relayAttempt?: RejectReason; counts: boolean };

/**
 * `accepted`: recipients of this transaction so far. `declaredSize`: MAIL FROM's SIZE, if any
 * (RFC 1870), so that a message that cannot fit is refused before it is sent.
 */
export async function judgeRcpt(rcpt: string, client: RelayClient, site: RcptSite, accepted: number, declaredSize = 0): Promise<RcptAnswer> {
  if (accepted >= site.maxRecipients) {
    return { kind: 'refuse', counts: false, reply: { code: 452, enhanced: '4.5.3', text: `Too many recipients (at most ${site.maxRecipients} per message)` } };
  }
  if (site.cancel?.isCancelAddress(rcpt)) {
    const reply = await site.cancel.cancelByAddress(rcpt);
    return reply.code >= 400 ? { kind: 'refuse', counts: true, reply } : { kind: 'cancelled', address: rcpt, reply };
  }
  const decision = decideRcpt(rcpt, client, site);
  if (decision.action === 'reject') {
    const { code, enhanced, text } = decision;
    return { kind: 'refuse', counts: true, reply: { code, enhanced, text }, ...(RELAY_ATTEMPT_REASONS.has(decision.reason) ? { relayAttempt: decision.reason } : {}) };
  }
  for (const r of decision.routes) {
    if (r.route.kind !== 'mailbox') continue;
    const fit = quotaFit(site.quotaOf(r.route.user), await site.usageOf(r.route.user), declaredSize);
    if (fit !== 'fits') return { kind: 'refuse', counts: false, reply: quotaReply(fit, decision.address, declaredSize) };
  }
  return { kind: 'accept', address: decision.address, routes: decision.routes };
}

/**
 * The quota rule at the end of DATA, for the whole message: refused when no recipient's copy can
 * go anywhere — every one is a mailbox it does not fit (temporary if one is only full).
 */
export async function dataQuota(size: number, routes: readonly Routed[], site: Pick<RcptSite, 'quotaOf' | 'usageOf'>): Promise<Reply | null> {
  if (routes.length === 0) return null;
  let full: string | null = null;
  let tooBig: string | null = null;
  for (const r of routes) {
    if (r.route.kind !== 'mailbox') return null;
    const fit = quotaFit(site.quotaOf(r.route.user), await site.usageOf(r.route.user), size);
    if (fit === 'fits') return null;
    if (fit === 'full') full ??= r.address;
    else tooBig ??= r.address;
  }
  return full !== null ? quotaReply('full', full, size) : quotaReply('too-big', tooBig!, size);
}
