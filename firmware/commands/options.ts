// Option parsing for commands: node:util parseArgs, with its errors turned into usage errors.
import { parseArgs } from 'node:util';
import { UsageError } from './types.ts';

type Spec = Record<string, { type: 'string' | 'boolean' }>;

export function parseOptions<S extends Spec>(args: string[], spec: S, usage: string) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}\nusage: ${usage}`);
  }
}

/** Exactly `n` positional words, else a usage error. */
export function positionals(words: string[], n: number, usage: string, atLeast = false): string[] {
  if (atLeast ? words.length < n : words.length !== n) throw new UsageError(`usage: ${usage}`);
  return words;
}
