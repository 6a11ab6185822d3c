// The ordered list of content stages. Issue 5 (content security) fills it.
import type { NamedStage } from './stage.ts';

  // Sender checks first: later stages (spam score) read the Authentication-Results they add.
export const stages: NamedStage[] = [];
