// The ordered list of content stages. Issue 5 (content security) fills it.
import type { NamedStage } from './stage.ts';
import { senderAuthStage } from '../senderauth/stage.ts';
import { dkimSignStage } from '../dkimsign/stage.ts';
import { encryptedStage } from '../encrypted/stage.ts';
import { attachmentStage } from '../attachments/stage.ts';
import { antivirusStage } from '../antivirus/stage.ts';
import { spamStage } from '../spam/stage.ts';
import { archiveStage } from '../archive/stage.ts';

export const stages: NamedStage[] = [
  // Sender checks first: later stages (spam score) read the Authentication-Results they add.
  { name: 'senderauth', run: senderAuthStage },
  // Encrypted first: it marks what nobody can read; the attachment filter then removes by name and type.
  { name: 'encrypted', run: encryptedStage },
  { name: 'attachments', run: attachmentStage },
  // The virus scan sees the message as it will be delivered (after removals).
  { name: 'antivirus', run: antivirusStage },
  { name: 'spam', run: spamStage },
  // Signing last: no later stage may change the signed bytes.
  { name: 'dkimsign', run: dkimSignStage },
  // The archive copy last: the message as it will leave, after every check and rewrite (seed §7).
  archiveStage,
];
