// quarantine list|show|release|delete and dkim keygen: the content-security stations' admin
// commands, for the CLI and the console.
import { createReadStream } from 'node:fs';
import { quarantineCommand as runQuarantine } from './quarantine-verbs.ts';
import { keygenForCli } from '../../src/dkimsign/keys.ts';
import { injectMail } from '../../src/pickup/inject.ts';
import { Spool } from '../../src/spool/spool.ts';
import { parseOptions } from './options.ts';
import { UsageError, type Command } from './types.ts';

export const quarantineCommand: Command = {
  name: 'quarantine',
  summary: 'held messages (spam, viruses, blocked files): list, show, release, delete',
  usage: 'quarantine list | show ID | release ID | delete ID',
  async run(args, env) {
    const spool = new Spool(env.ctx.dataDir);
    // A released message is queued again as it was held (its envelope, its bytes); a running queue
    // manager finds the new entry on its next scan of the spool.
    const reinject = async ({ path, held }: { path: string; held: { mailFrom: string; rcpts: string[] } }) => {
      const id = await injectMail({ ctx: env.ctx, spool, enqueue: () => undefined }, { from: held.mailFrom, to: held.rcpts, content: createReadStream(path) });
      if (id === null) throw new Error('no recipient of the held message has a route any more');
    };
    return runQuarantine(args, env.ctx, reinject, (line) => env.out.write(line + '\n'));
  },
};

export const dkimCommand: Command = {
  name: 'dkim',
  summary: 'DKIM signing keys: keygen DOMAIN prints the DNS record to publish',
  usage: 'dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519|both]',
  subcommands: [
    {
      name: 'keygen',
      summary: 'make a signing key for DOMAIN and print its TXT record',
      usage: 'dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519|both]',
      async run(args, env) {
        const usage = 'dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519|both]';
        const { values, positionals } = parseOptions([...args], { selector: { type: 'string' }, algorithm: { type: 'string' } }, usage);
        if (positionals.length !== 1) throw new UsageError(`usage: ${usage}`);
        const algorithm = values.algorithm ?? 'both';
        if (algorithm !== 'rsa' && algorithm !== 'ed25519' && algorithm !== 'both') throw new UsageError(`--algorithm: "${algorithm}" is not allowed: expected rsa, ed25519 or both`);
        const keys = await keygenForCli(env.ctx.dataDir, positionals[0]!, { algorithm, ...(typeof values.selector === 'string' ? { selector: values.selector } : {}) });
        for (const k of keys) {
          env.out.write(`${k.algorithm} key written to ${k.path}\npublish this TXT record:\n${k.zoneLine}\n`);
        }
        return 0;
      },
    },
  ],
};
