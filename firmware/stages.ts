// The content stages, each with its phase; src/pipeline/run.ts runs them phase by phase
// (check → modify → scan → sign → record), in this order within a phase.
import type { NamedStage } from '../src/pipeline/stage.ts';
import { senderAuthStage } from '../src/senderauth/stage.ts';
import { dkimSignStage } from '../src/dkimsign/stage.ts';
import { encryptedStage } from '../src/encrypted/stage.ts';
import { attachmentStage } from '../src/attachments/stage.ts';
import { antivirusStage } from '../src/antivirus/stage.ts';
import { spamStage } from '../src/spam/stage.ts';
import { archiveStage } from '../src/archive/stage.ts';
import { dmarcInboundStage } from '../src/dmarcreport/inbound.ts';

export const stages: NamedStage[] = [
  // Sender authentication leaves its results in the memo; the spam score reads them there.
  { name: 'senderauth', phase: 'check', run: senderAuthStage },
  // Encrypted content is marked before the attachment filter: it names what nobody can read.
  { name: 'encrypted', phase: 'check', run: encryptedStage },
  { name: 'attachments', phase: 'modify', run: attachmentStage },
  // The virus scan and the spam score judge the message as it will be delivered (after removals).
  { name: 'antivirus', phase: 'scan', run: antivirusStage },
  { name: 'spam', phase: 'scan', run: spamStage },
  // Nothing may change the signed bytes after signing.
  { name: 'dkimsign', phase: 'sign', run: dkimSignStage },
  // The archive copy is the message exactly as it leaves: every field the stages added, then the file.
  archiveStage,
  // DMARC aggregate reports about our domains are read as they arrive (never refused for it).
  { name: 'dmarc-reports-in', phase: 'record', run: dmarcInboundStage },
];
