// queue list|show|flush|hold|release|delete|cancel: the mail queue, for the CLI and the console.
// Works on the spool files; a running queue manager picks the changes up within seconds.
import { Spool } from '../../src/spool/spool.ts';
import { QueueAdmin, formatQueue, remoteControl } from '../../src/qmgr/admin.ts';
import { createHoldService } from '../../src/hold/service.ts';
import { positionals } from './options.ts';
import type { Command, CommandEnv } from './types.ts';

function admin(env: CommandEnv): { spool: Spool; admin: QueueAdmin } {
  const spool = new Spool(env.ctx.dataDir);
  return { spool, admin: new QueueAdmin(spool, remoteControl(spool), env.ctx.bus) };
}

/** A subcommand taking exactly one queue ID. */
const byId = (name: string, summary: string, act: (id: string, env: CommandEnv) => Promise<string>): Command => ({
  name,
  summary,
  usage: `queue ${name} ID`,
  async run(args, env) {
    const [id] = positionals(args, 1, `queue ${name} ID`);
    env.out.write((await act(id!.toUpperCase(), env)) + '\n');
    return 0;
  },
});

export const queueCommand: Command = {
  name: 'queue',
  summary: 'the mail queue: list, show, flush, hold, release, delete, cancel',
  subcommands: [
    {
      name: 'list',
      summary: 'every queued message with its recipients and their state',
      usage: 'queue list',
      async run(args, env) {
        positionals(args, 0, 'queue list');
        const text = formatQueue(await admin(env).admin.list());
        env.out.write(text === '' ? 'queue empty\n' : text);
        return 0;
      },
    },
    byId('show', 'one message: envelope, recipient states and header', async (id, env) => {
      const { entry, header } = await admin(env).admin.show(id);
      return formatQueue([entry]) + '\n' + header.replace(/\r\n/g, '\n');
    }),
    {
      name: 'flush',
      summary: 'try delivery now (every message, or one), ignoring the retry schedule',
      usage: 'queue flush [ID]',
      async run(args, env) {
        if (args.length > 1) positionals(args, 1, 'queue flush [ID]');
        const id = args[0]?.toUpperCase();
        await admin(env).admin.flush(id);
        env.out.write(`flush requested${id ? ` for ${id}` : ''}\n`);
        return 0;
      },
    },
    byId('hold', 'keep a message from being delivered until released', async (id, env) => {
      await admin(env).admin.hold(id);
      return `${id} held`;
    }),
    byId('release', 'let a held message go again', async (id, env) => {
      await admin(env).admin.release(id);
      return `${id} released`;
    }),
    byId('delete', 'remove a message without a bounce (nobody is told)', async (id, env) => {
      await admin(env).admin.delete(id);
      return `${id} deleted`;
    }),
    byId('cancel', 'cancel a message (e.g. during its mis-send delay); the sender is told', async (id, env) => {
      const { spool } = admin(env);
      const done = await createHoldService({ ctx: env.ctx, spool, qmgr: remoteControl(spool) }).cancel(id, { kind: 'admin' });
      return `${done.id} cancelled; not sent to ${done.rcpts.join(', ')}`;
    }),
  ],
};
