// Pipeline stage: sender authentication on inbound mail. Adds Authentication-Results and
// Received-SPF, and rejects, quarantines or tags by the senderauth.* policy.
import type { Stage } from '../pipeline/stage.ts';
import { resolverFromSettings } from '../dns/resolver.ts';
import { mailauthResolver } from './mailauth-dns.ts';
import { verifyMessage } from './verify.ts';
import { decide } from './policy.ts';
import { policyFrom } from './settings.ts';
import { stripForgedResults } from './strip.ts';

export const senderAuthStage: Stage = async (message, context) => {
  const { store } = context;
  // Our own users' mail (outbound) is signed, not checked; trusted relays are not checked either.
  if (message.direction !== 'inbound' || !store.get('senderauth.enabled')) return { action: 'accept' };
  const results = await verifyMessage({
    path: message.path,
    ip: message.client.address,
    helo: message.client.helo,
    mailFrom: message.mailFrom,
    mta: store.get('hostname'),
    resolver: mailauthResolver(resolverFromSettings(store)),
    strict: store.get('senderauth.strict'),
    minRsaBits: store.get('senderauth.minRsaBits'),
    arc: store.get('senderauth.arc'),
  });
  const verdict = decide(results, policyFrom(store));
  if (verdict.action === 'accept') {
    const out = `${message.path}.auth`;
    const removed = await stripForgedResults(message.path, out, store.get('hostname'));
    if (removed > 0) {
      context.log.log('info', 'removed forged Authentication-Results', { queueId: message.queueId, count: removed });
      verdict.replacement = out;
    }
  }
  context.log.log(verdict.action === 'accept' ? 'debug' : 'info', 'senderauth', {
    queueId: message.queueId,
    spf: results.spf.result,
    senderId: results.senderId.result,
    dkim: results.dkim.map((d) => `${d.domain}:${d.result}`).join(',') || 'none',
    dmarc: results.dmarc?.result ?? 'none',
    action: verdict.action,
  });
  return verdict;
};
