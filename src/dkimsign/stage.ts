// Pipeline stage: DKIM-sign outbound mail. Runs last, so no later stage changes signed bytes.
import type { Stage, Verdict } from '../pipeline/stage.ts';
import { authorDomain, keysFor, signFile } from './sign.ts';

export const dkimSignStage: Stage = async (message, context): Promise<Verdict> => {
  const { store } = context;
  if (!store.get('dkimsign.enabled')) return { action: 'accept', facts: { skipped: 'dkimsign.enabled is off' } };
  if (message.direction !== 'outbound') return { action: 'accept', facts: { skipped: 'inbound mail is not signed' } };
  const domain = await authorDomain(message.path, message.head);
  if (!domain) return { action: 'accept', facts: { skipped: 'no author domain in From' } };
  const keys = await keysFor(context.dataDir, domain, store.get('dkimsign.domains'));
  if (keys.length === 0) return { action: 'accept', facts: { skipped: `no signing key for ${domain}` } };
  try {
    const headers = await signFile(message.path, keys, store.get('dkimsign.canonicalization'));
    return { action: 'accept', headers, facts: { signed: domain } };
  } catch (err) {
    // A broken key must not send unsigned mail that DMARC p=reject receivers would drop silently.
    context.log.log('error', 'dkim signing failed', { queueId: message.queueId, domain, error: String(err) });
    return { action: 'tempfail', code: 451, enhanced: '4.7.0', text: `DKIM signing for ${domain} failed; the administrator has been told` };
  }
};
