// What a command says when the part of Yubin it needs is not running in this process.
import type { CommandEnv } from './types.ts';

export function notAvailable(env: CommandEnv, what: string): number {
  env.err.write(`${what}: not available (that part of Yubin is not running here)\n`);
  return 1;
}
