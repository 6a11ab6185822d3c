// Pipeline stage: DKIM-sign outbound mail. Runs last, so no later stage changes signed bytes.
import type { Stage } from '../pipeline/stage.ts';
import { authorDomain, keysFor, signFile } from './sign.ts';

export const dkimSignStage: Stage = async (message, context) => {
  const { store } = context;
  if (message.direction !== 'outbound' || !store.get('dkimsign.enabled')) return { action: 'accept' };
  const domain = await authorDomain(message.path, message.head);
  if (!domain) return { action: 'accept' };
  const keys = await keysFor(context.dataDir, domain, store.get('dkimsign.domains'));
  if (keys.length === 0) return { action: 'accept' };
  try {
    const headers = await signFile(message.path, keys, store.get('dkimsign.canonicalization'));
    return { action: 'accept', headers };
  } catch (err) {
    // A broken key must not send unsigned mail that DMARC p=reject receivers would drop silently.
    context.log.log('error', 'dkim signing failed', { queueId: message.queueId, domain, error: String(err) });
    return { action: 'tempfail', code: 451, enhanced: '4.7.0', text: `DKIM signing for ${domain} failed; the administrator has been told` };
  }
};
