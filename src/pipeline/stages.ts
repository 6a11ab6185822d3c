// The ordered list of content stages. Issue 5 (content security) fills it.
import type { NamedStage } from './stage.ts';
import { senderAuthStage } from '../senderauth/stage.ts';
import { dkimSignStage } from '../dkimsign/stage.ts';

  // Sender checks first: later stages (spam score) read the Authentication-Results they add.
export const stages: NamedStage[] = [
  // Sender checks first: later stages (spam score) read the Authentication-Results they add.
  { name: 'senderauth', run: senderAuthStage },
  // Signing last: no later stage may change the signed bytes.
  { name: 'dkimsign', run: dkimSignStage },
];
