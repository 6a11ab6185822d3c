// restart, shutdown, reboot: the appliance's power switch, on the console (and from the CLI through the control socket).
import { positionals } from './options.ts';
import { notAvailable } from './not-available.ts';
import type { Command } from './types.ts';

export const restartCommand: Command = {
  name: 'restart',
  summary: 'restart the mail services (staged settings are not committed)',
  usage: 'restart',
  board: true,
  async run(args, env) {
    positionals(args, 0, 'restart');
    if (!env.hooks.restart) return notAvailable(env, 'restart');
    env.out.write('restarting...\n');
    await env.hooks.restart();
    env.out.write('restarted\n');
    return 0;
  },
};

/** `shutdown` and `reboot`: the firmware's shutdown hook says what happens, then does it. */
const stopCommand = (name: string, how: 'poweroff' | 'reboot', summary: string): Command => ({
  name,
  summary,
  usage: name,
  board: true,
  async run(args, env) {
    positionals(args, 0, name);
    if (!env.hooks.shutdown) return notAvailable(env, name);
    env.out.write(`${await env.hooks.shutdown(how)}\n`);
    return 0;
  },
});

export const shutdownCommand = stopCommand('shutdown', 'poweroff',
  'stop Yubin: listeners close, sessions are told, mail in DATA gets smtp.shutdownGrace; on the board the board then powers off');
export const rebootCommand = stopCommand('reboot', 'reboot',
  "on the board: stop Yubin as shutdown does, then reboot the board ('restart' restarts Yubin alone)");
