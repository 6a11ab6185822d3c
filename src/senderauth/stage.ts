// Pipeline stage: sender authentication on inbound mail. Adds Authentication-Results and
// Received-SPF, and rejects, quarantines or tags by the senderauth.* policy.
import { outboundBecause, type Stage } from '../pipeline/stage.ts';
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
  if (!store.get('senderauth.enabled')) return { action: 'accept', facts: { skipped: 'senderauth.enabled is off' } };
  // Our own users' mail (outbound) is signed, not checked; mail from trustedNetworks is not checked
  // either, unless senderauth.checkTrusted asks for it (a LAN that may hold an infected PC).
  const fromTrusted = message.client.trusted && message.client.user === null;
  if (message.direction !== 'inbound' && !(fromTrusted && store.get('senderauth.checkTrusted'))) {
    const why = `outbound mail, ${outboundBecause(message.client)}${fromTrusted ? ' (senderauth.checkTrusted is off)' : ''}: no SPF, DKIM or DMARC check, no Authentication-Results`;
    return { action: 'accept', facts: { skipped: why } };
  }
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
  // What was found goes to the log's check line and the trace (src/pipeline/run.ts emits it).
  verdict.facts = {
    spf: results.spf.result,
    senderId: results.senderId.result,
    dkim: results.dkim.map((d) => `${d.domain}:${d.result}`).join(',') || 'none',
    dmarc: results.dmarc?.result ?? 'none',
    ...(fromTrusted ? { trusted: true } : {}),
  };
  return verdict;
};
