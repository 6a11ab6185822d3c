// The fuzz targets, in the order `npm run fuzz` runs them (fast pure ones first).
import type { Target } from '../harness.ts';
import { addressTarget } from './address.ts';
import { mimeTarget } from './mime.ts';
import { consoleTarget } from './console.ts';
import { smtpTarget } from './smtp.ts';
import { pop3Target } from './pop3.ts';

export const TARGETS: ReadonlyArray<Target<never>> = [addressTarget, mimeTarget, consoleTarget, smtpTarget, pop3Target] as unknown as ReadonlyArray<Target<never>>;

export function targetNamed(name: string): Target<never> | undefined {
  return TARGETS.find((t) => t.name === name);
}
