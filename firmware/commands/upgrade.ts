// upgrade FILE|URL: install a signed firmware bundle into the other root slot and reboot into it
// (firmware/lifecycle/upgrade.ts). Mail and configuration stay on the data partition, untouched.
import { resolve } from 'node:path';
import { rm } from 'node:fs/promises';
import { positionals } from './options.ts';
import { EXIT, type Command } from './types.ts';
import { upgradesAvailable, download, install, bundleFile, UpgradeError } from '../lifecycle/upgrade.ts';

const USAGE = 'upgrade FILE|URL';

export const upgradeCommand: Command = {
  name: 'upgrade',
  summary: 'install a signed firmware bundle (a file on the board, or an http(s) URL) into the other slot, then reboot into it',
  usage: USAGE,
  async run(args, env) {
    const [source] = positionals(args, 1, USAGE);
    if (!upgradesAvailable()) {
      env.err.write('upgrade: not available (this system has no A/B root slots: flash the new image instead)\n');
      return EXIT.failed;
    }
    const say = (line: string) => env.out.write(`${line}\n`);
    const isUrl = /^https?:\/\//i.test(source!);
    const file = isUrl ? bundleFile(env.ctx.dataDir) : resolve(source!);
    try {
      if (isUrl) await download(source!, file, say);
      say(`checking and installing ${isUrl ? source : file} (signature and compatibility are checked before anything is written)`);
      await install(file, say);
    } catch (err) {
      if (!(err instanceof UpgradeError)) throw err;
      env.err.write(`upgrade: ${err.message}\n`);
      env.ctx.bus.emit('lifecycle.problem', { source: 'upgrade', text: `upgrade from ${source} ${err.message.startsWith('refused') ? '' : 'failed: '}${err.message}` });
      return EXIT.failed;
    } finally {
      if (isUrl) await rm(file, { force: true });
    }
    say('installed into the other slot; it becomes the running firmware once it boots and answers SMTP and POP3');
    if (env.hooks.shutdown) say(await env.hooks.shutdown('reboot'));
    else say('reboot the board to start it');
    return EXIT.ok;
  },
};
