// Pipeline stage: sender authentication on inbound mail. Adds Authentication-Results and
// Received-SPF, and rejects, quarantines or tags by the senderauth.* policy.
import type { Stage } from '../pipeline/stage.ts';
import { resolverFromSettings } from '../dns/resolver.ts';
import { mailauthResolver } from './mailauth-dns.ts';
import { decide } from './policy.ts';
import { policyFrom } from './settings.ts';
import { stripForgedResults } from './strip.ts';
import { HeaderError } from '../mime/header-block.ts';
import { headerTooLarge } from '../mime/limits.ts';
import { mimeLimits } from '../inspect/limits.ts';
import type { AuthResults } from './verify.ts';
import { AUTH_RESULTS, dmarcRow, summarize } from './facts.ts';

export const senderAuthStage: Stage = async (message, context) => {
  const { store } = context;
  // Our own users' mail (outbound) is signed, not checked; trusted relays are not checked either.
  if (message.direction !== 'inbound' || !store.get('senderauth.enabled')) return { action: 'accept' };
  let results: AuthResults;
  try {
    // mailauth costs ~30 MiB of RSS: loaded with the first message checked, never when disabled.
    const { verifyMessage } = await import('./verify.ts');
    results = await verifyMessage({
      path: message.path,
      head: message.head,
      ip: message.client.address,
      helo: message.client.helo,
      mailFrom: message.mailFrom,
      mta: store.get('hostname'),
      resolver: mailauthResolver(resolverFromSettings(store)),
      strict: store.get('senderauth.strict'),
      minRsaBits: store.get('senderauth.minRsaBits'),
      arc: store.get('senderauth.arc'),
      maxHeaderBytes: store.get('mime.maxHeaderBytes'),
    });
  } catch (err) {
    if (err instanceof HeaderError) {
      return { action: 'reject', ...headerTooLarge(mimeLimits(store), true, '').reply };
    }
    // A check that could not run must not let a forgery through: the sender retries later.
    context.log.log('error', 'senderauth failed', { queueId: message.queueId, error: String(err) });
    return { action: 'tempfail', code: 451, enhanced: '4.7.0', text: 'sender authentication could not be completed, try again later' };
  }
  message.memo?.set(AUTH_RESULTS, summarize(results));
  const verdict = decide(results, policyFrom(store));
  const row = dmarcRow(results, message, verdict.action);
  if (row) context.bus.emit('dmarc.evaluated', row);
  if (verdict.action === 'accept') {
    const out = `${message.path}.auth`;
    const removed = await stripForgedResults(message.path, out, store.get('hostname'), message.head, store.get('mime.maxHeaderBytes'));
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
