// Turns the check results into one pipeline verdict, by the admin's policy per result.
// Pure: no I/O, so each rule is tested without sockets.
import type { Verdict } from '../pipeline/stage.ts';
import type { AuthResults } from './verify.ts';
import type { Action, SenderAuthPolicy } from './settings.ts';

type Outcome =
  | { action: 'reject' | 'tempfail'; code: number; enhanced: string; text: string }
  | { action: 'quarantine' | 'tag'; reason: string }
  | { action: 'accept' };

const SEVERITY = { reject: 4, tempfail: 3, quarantine: 2, tag: 1, accept: 0 } as const;

export function decide(results: AuthResults, policy: SenderAuthPolicy): Verdict {
  const outcomes: Outcome[] = [];
  const dmarcPass = results.dmarc?.result === 'pass';
  const { spf, senderId, dmarc } = results;

  if (dmarc?.result === 'fail') {
    if (dmarc.policy === 'reject') {
      outcomes.push(apply(policy.dmarcReject, 550, '5.7.1', `DMARC policy of ${dmarc.domain} is to reject mail that fails authentication (RFC 7489 §6.7)`));
    } else if (dmarc.policy === 'quarantine') {
      outcomes.push(apply(policy.dmarcQuarantine, 550, '5.7.1', `DMARC policy of ${dmarc.domain} is to quarantine mail that fails authentication`));
    }
  }
  // RFC 7489 §10.1: where the author domain publishes DMARC, its policy decides, not SPF alone
  // (and a forwarder breaks SPF but keeps the aligned DKIM signature that makes DMARC pass).
  const noDmarc = !dmarc || dmarc.result === 'none';
  if (spf.result === 'fail' && noDmarc) {
    outcomes.push(apply(policy.spfFail, 550, '5.7.23', `SPF check failed: ${spf.why || `${spf.domain} does not permit this client`}`));
  }
  if (spf.result === 'softfail' && noDmarc) {
    outcomes.push(apply(policy.spfSoftfail, 550, '5.7.23', `SPF softfail: ${spf.why}`));
  }
  if (spf.result === 'permerror') {
    outcomes.push(apply(policy.spfPermerror, 550, '5.7.24', `SPF record of ${spf.domain} is broken: ${spf.why}`));
  }
  if (spf.result === 'temperror' || dmarc?.result === 'temperror') {
    const why = spf.result === 'temperror' ? `SPF lookup for ${spf.domain} failed temporarily` : `DMARC lookup for ${dmarc?.domain} failed temporarily`;
    if (policy.temperror === 'tempfail') outcomes.push({ action: 'tempfail', code: 451, enhanced: '4.7.24', text: `${why}, try again later` });
    else if (policy.temperror === 'tag') outcomes.push({ action: 'tag', reason: why });
  }
  if (senderId.result === 'fail' && !dmarcPass) {
    outcomes.push(apply(policy.senderIdFail, 550, '5.7.1', `Sender ID check failed: ${senderId.why}`));
  }
  const signed = results.dkim.length > 0;
  if (signed && !results.dkim.some((d) => d.result === 'pass')) {
    const first = results.dkim[0]!;
    outcomes.push(apply(policy.dkimFail, 550, '5.7.20', `no valid DKIM signature: ${first.domain} ${first.result} (${first.why})`));
  }

  let worst: Outcome = { action: 'accept' };
  for (const o of outcomes) if (SEVERITY[o.action] > SEVERITY[worst.action]) worst = o;
  const tags = outcomes.filter((o): o is Extract<Outcome, { reason: string }> => o.action === 'tag' || o.action === 'quarantine');
  const warning = tags.length > 0 ? [`X-Yubin-Auth-Warning: ${tags.map((o) => o.reason).join('; ').replace(/[\r\n]+/g, ' ').slice(0, 900)}`] : [];

  switch (worst.action) {
    case 'reject':
    case 'tempfail':
      return { action: worst.action, code: worst.code, enhanced: worst.enhanced, text: worst.text };
    case 'quarantine':
      return { action: 'quarantine', reason: worst.reason, headers: [...results.headers, ...warning] };
    default:
      return { action: 'accept', headers: [...results.headers, ...warning] };
  }
}

function apply(action: Action, code: number, enhanced: string, text: string): Outcome {
  switch (action) {
    case 'reject': return { action: 'reject', code, enhanced, text };
    case 'quarantine': return { action: 'quarantine', reason: text };
    case 'tag': return { action: 'tag', reason: text };
    default: return { action: 'accept' };
  }
}
