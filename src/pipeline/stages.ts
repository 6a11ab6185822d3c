// The ordered list of content stages. Issue 5 (content security) fills it.
import type { NamedStage } from './stage.ts';

export const stages: NamedStage[] = [];
