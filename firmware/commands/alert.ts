// alert ack [ID]: acknowledge alerts (the alert LED goes dark once none is left).
import { UnknownAlertError } from '../../src/alerts/engine.ts';
import { positionals } from './options.ts';
import { notAvailable } from './not-available.ts';
import type { Command } from './types.ts';

export const alertCommand: Command = {
  name: 'alert',
  summary: 'acknowledge alerts (clears the alert LED once none is left)',
  subcommands: [
    {
      name: 'ack',
      summary: 'acknowledge one alert by id, or all of them',
      usage: 'alert ack [ID]',
      board: true,
      run(args, env) {
        if (args.length > 1) positionals(args, 1, 'alert ack [ID]');
        if (!env.hooks.alerts) return notAvailable(env, 'alert ack');
        try {
          const cleared = env.hooks.alerts.ack(args[0]?.replace(/^#/, ''));
          env.out.write(cleared.length === 0 ? 'no active alerts\n' : `acknowledged ${cleared.map((a) => `#${a.id}`).join(', ')}\n`);
          return 0;
        } catch (err) {
          if (err instanceof UnknownAlertError) {
            env.err.write(`alert ack: ${err.message}\n`);
            return 2;
          }
          throw err;
        }
      },
    },
  ],
};
