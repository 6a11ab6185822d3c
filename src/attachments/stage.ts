// Content stage: the attachment extension filter (docs/REQUIREMENTS.md §5), inbound and outbound. A blocked file
// is replaced by a short notice and the original message is kept in quarantine; or the message is
// rejected or held whole, by configuration. Signed mail is never rewritten (it would break the
// signature): attachments.signedAction decides instead.
import type { Context } from '../context.ts';
import type { MessageContext, Stage, Verdict } from '../pipeline/stage.ts';
import { inspectLimits, inspectOrVerdict, isVerdict } from '../inspect/limits.ts';
import { findBlocked, type Finding } from './policy.ts';
import { replaceParts } from './rewrite.ts';
import { headerText } from '../mime/mime.ts';

const HEADER = 'X-Yubin-Attachments';

function describe(findings: readonly Finding[]): string {
  return findings.map((f) => `"${f.filename}" (${f.reason})`).join(', ');
}

function notice(finding: Finding, quarantineId: string, expires: string): string {
  return [
    `The attachment "${finding.filename}" was removed by the mail server: ${finding.reason}.`,
    `Files of this kind can carry malware, so they are not delivered.`,
    `A copy of the original message is kept in quarantine as ${quarantineId} until ${expires};`,
    `ask your mail administrator if you need it.`,
    '',
  ].join('\r\n');
}

export const attachmentStage: Stage = async (message: MessageContext, context: Context): Promise<Verdict> => {
  const s = context.store;
  const action = message.direction === 'inbound' ? s.get('attachments.inbound') : s.get('attachments.outbound');
  if (action === 'off') return { action: 'accept', facts: { skipped: `attachments.${message.direction} is off` } };

  const inspection = await inspectOrVerdict(message, context, false);
  if (isVerdict(inspection)) return inspection;
  const findings = findBlocked(inspection, {
    blocked: new Set(s.get('attachments.blockedExtensions')),
    blockExecutables: s.get('attachments.blockExecutables'),
    blockUncheckable: s.get('attachments.blockUncheckable'),
  });
  if (findings.length === 0) return { action: 'accept', facts: { blocked: 'none' } };

  const what = describe(findings);
  const facts = { blocked: what };
  const emit = (outcome: 'removed' | 'rejected' | 'quarantined') => {
    for (const f of findings) {
      context.bus.emit('attachment.blocked', { queueId: message.queueId, client: message.client.address, from: message.mailFrom, filename: f.filename, reason: f.reason, action: outcome });
    }
  };
  const first = findings[0]!;

  const signedAction = inspection.signed ? s.get('attachments.signedAction') : null;
  if (action === 'reject' || signedAction === 'reject') {
    emit('rejected');
    return { action: 'reject', code: 554, enhanced: '5.7.1', text: `Message refused: attachment "${first.filename}" is not allowed (${first.reason})`, facts };
  }
  if (signedAction === 'pass') {
    return { action: 'accept', headers: [`${HEADER}: ${headerText(`not removed from ${inspection.signed} message: ${what}`)}`], facts: { ...facts, removed: false } };
  }
  if (action === 'quarantine' || signedAction === 'quarantine') {
    emit('quarantined');
    const why = inspection.signed ? `blocked attachment in a ${inspection.signed} message (not rewritten): ${what}` : `blocked attachment: ${what}`;
    return { action: 'quarantine', reason: why, headers: [`${HEADER}: ${headerText(why)}`], facts };
  }

  // remove: keep the untouched original in quarantine first, then write the cleaned copy.
  if (!message.holdCopy) throw new Error('attachments: removing a file needs the pipeline\'s quarantine for the original');
  const held = await message.holdCopy(`attachment removed: ${what}`, 'attachments');
  const expires = held.expiresAt.slice(0, 10);
  const notices = new Map(findings.map((f) => [f.partId, notice(f, held.id, expires)]));
  const replacement = `${message.path}.attachments`;
  await replaceParts(message.path, replacement, notices, inspectLimits(context).mime);
  emit('removed');
  context.log.log('info', 'attachments removed', { queueId: message.queueId, files: findings.map((f) => f.filename), quarantine: held.id });
  return { action: 'accept', replacement, headers: [`${HEADER}: ${headerText(`removed ${what}; original held as ${held.id}`)}`], facts: { ...facts, removed: true, original: held.id } };
};
