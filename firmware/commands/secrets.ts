// Asking for a new password or secret: typed twice without echo, the same way everywhere.
import { ConfigError } from '../../src/config/store.ts';
import type { CommandEnv } from './types.ts';

export class Cancelled extends Error {}

export interface NewSecretOptions {
  /** The key errors are reported under. */
  key?: string;
  /** The secret's rules (length…): throws a ConfigError saying what is wrong. */
  check?: (secret: string) => void;
}

export async function askNewSecret(env: Pick<CommandEnv, 'prompt'>, label: string, options: NewSecretOptions = {}): Promise<string> {
  const key = options.key ?? 'password';
  const first = await env.prompt(`New ${label}: `, { secret: true });
  // An empty answer is Enter pressed to wake a terminal, not a choice of password.
  if (first === null || first === '') throw new Cancelled('cancelled');
  // A secret the rules refuse is refused now, not after it was typed a second time.
  options.check?.(first);
  const again = await env.prompt(`Repeat ${label}: `, { secret: true });
  if (again === null) throw new Cancelled('cancelled');
  if (first !== again) throw new ConfigError(key, 'the two entries differ; nothing changed');
  return first;
}
