// Content stage: the gateway virus scan (docs/REQUIREMENTS.md §5). The spooled message goes whole to clamd, which
// decodes MIME and opens archives itself. Infected: reject at DATA naming the signature, or hold.
// clamd down: 451 4.7.1 so the sender retries (default), or accept unscanned by choice.
import type { Context } from '../context.ts';
import type { MessageContext, Stage, Verdict } from '../pipeline/stage.ts';
import { scanFile, type ScanResult } from './clamd.ts';

const HEADER = 'X-Yubin-Virus-Scan';

/** One place that asks clamd with the configured address and limits. */
export function scanMessage(path: string, context: Context): Promise<ScanResult> {
  const s = context.store;
  return scanFile(path, { address: s.get('antivirus.address'), timeoutMs: s.get('antivirus.timeout') * 1000, maxBytes: s.get('antivirus.maxBytes') });
}

export const antivirusStage: Stage = async (message: MessageContext, context: Context): Promise<Verdict> => {
  const s = context.store;
  if (s.get('antivirus.address') === '') return { action: 'accept', facts: { skipped: 'no scanner (antivirus.address is empty)' } };
  if (message.size > s.get('antivirus.maxBytes')) {
    context.log.log('warn', 'message too large to scan', { queueId: message.queueId, size: message.size });
    return { action: 'accept', headers: [`${HEADER}: not scanned, ${message.size} bytes is above antivirus.maxBytes`], facts: { skipped: 'larger than antivirus.maxBytes' } };
  }
  let result: ScanResult;
  try {
    result = await scanMessage(message.path, context);
  } catch (err) {
    const why = (err as Error).message;
    context.log.log('error', 'virus scan failed', { queueId: message.queueId, error: why });
    context.bus.emit('service.down', { service: 'clamd', reason: why });
    if (s.get('antivirus.onError') === 'accept') return { action: 'accept', headers: [`${HEADER}: not scanned, scanner unavailable`], facts: { skipped: `scanner unavailable: ${why}` } };
    return { action: 'tempfail', code: 451, enhanced: '4.7.1', text: 'Virus scanner unavailable, try again later', facts: { error: why } };
  }
  if (result.clean) return { action: 'accept', headers: [`${HEADER}: clean (ClamAV)`], facts: { result: 'clean' } };

  context.bus.emit('virus.found', { client: message.client.address, from: message.mailFrom, signature: result.signature, queueId: message.queueId });
  context.log.log('warn', 'virus found', { queueId: message.queueId, signature: result.signature, client: message.client.address });
  const facts = { result: 'virus', signature: result.signature };
  if (s.get('antivirus.action') === 'quarantine') {
    return { action: 'quarantine', reason: `virus ${result.signature}`, headers: [`${HEADER}: infected with ${result.signature}`], facts };
  }
  return { action: 'reject', code: 554, enhanced: '5.7.1', text: `Message refused: virus found (${result.signature})`, facts };
};
