// setup: the setup wizard (firmware/setup/wizard.ts), again whenever wanted; the console runs it
// by itself on first boot.
import { runSetup } from '../setup/wizard.ts';
import { Cancelled } from './secrets.ts';
import { positionals } from './options.ts';
import type { Command, CommandEnv } from './types.ts';

export const CANCELLED = 'setup cancelled: nothing was changed\n';

/** true when the setup was written; false when it was cancelled (nothing written). */
export async function setupOrCancel(env: CommandEnv): Promise<boolean> {
  try {
    await runSetup(env);
    return true;
  } catch (err) {
    if (!(err instanceof Cancelled)) throw err;
    env.out.write(`\n${CANCELLED}`);
    return false;
  }
}

export const setupCommand: Command = {
  name: 'setup',
  summary: 'set the board up: admin password, host name, domains, first users, network, OP25B smarthost, time zone',
  usage: 'setup',
  async run(args, env) {
    positionals(args, 0, 'setup');
    return (await setupOrCancel(env)) ? 0 : 1;
  },
};
