// factory-reset: says what it erases, asks twice, then asks the firmware to carry it out at once
// (a restart, a reboot on the board); firmware/lifecycle/reset.ts does the erasing.
import { parseOptions } from './options.ts';
import { Cancelled } from './secrets.ts';
import { UsageError, EXIT, type Command } from './types.ts';
import { ERASES, requestReset, type ResetLevel } from '../lifecycle/reset.ts';

const USAGE = 'factory-reset [--settings | --all]';

export const factoryResetCommand: Command = {
  name: 'factory-reset',
  summary: 'back to factory state: --settings (mail kept) or --all (the data partition re-made); asks twice',
  usage: USAGE,
  async run(args, env) {
    const { values, positionals } = parseOptions(args, { settings: { type: 'boolean' }, all: { type: 'boolean' } }, USAGE);
    if (positionals.length > 0 || (values.settings && values.all)) throw new UsageError(`usage: ${USAGE}`);
    let level: ResetLevel | undefined = values.all ? 'all' : values.settings ? 'settings' : undefined;
    if (level === undefined) {
      env.out.write(`1  settings: erases ${ERASES.settings.erases}; ${ERASES.settings.keeps}\n`);
      env.out.write(`2  all: erases ${ERASES.all.erases}\n`);
      const answer = (await env.prompt('Which reset, 1 or 2? '))?.trim();
      if (answer === '1' || answer === 'settings') level = 'settings';
      else if (answer === '2' || answer === 'all') level = 'all';
      else throw new Cancelled('cancelled');
    }
    const host = env.ctx.store.get('hostname');
    env.out.write(`factory-reset ${level}: erases ${ERASES[level].erases} of ${host}; ${ERASES[level].keeps}.\n`);
    env.out.write('Afterwards the board starts as new: first-boot setup on the console, which offers to restore a backup.\n');
    const first = (await env.prompt("Type 'erase' to go on: "))?.trim();
    if (first !== 'erase') throw new Cancelled('cancelled');
    const second = (await env.prompt(`Really erase? Type the hostname (${host}) to confirm: `))?.trim();
    if (second !== host) throw new Cancelled('cancelled');
    await requestReset(env.ctx.dataDir, level);
    if (!env.hooks.reset) {
      env.out.write('factory reset requested: it is carried out when Yubin next starts (restart the service now)\n');
      return EXIT.ok;
    }
    env.out.write(`${await env.hooks.reset()}\n`);
    return EXIT.ok;
  },
};
