// Asking for a new password or secret: typed twice without echo, the same way everywhere.
import { ConfigError } from '../../src/config/store.ts';
import type { CommandEnv } from './types.ts';

export class Cancelled extends Error {}

export async function askNewSecret(env: Pick<CommandEnv, 'prompt'>, label: string, key = 'password'): Promise<string> {
  const first = await env.prompt(`New ${label}: `, { secret: true });
  // An empty answer is Enter pressed to wake a terminal, not a choice of password.
  if (first === null || first === '') throw new Cancelled('cancelled');
  const again = await env.prompt(`Repeat ${label}: `, { secret: true });
  if (again === null) throw new Cancelled('cancelled');
  if (first !== again) throw new ConfigError(key, 'the two entries differ; nothing changed');
  return first;
}
