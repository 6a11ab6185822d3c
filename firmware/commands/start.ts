// `yubin start`: firmware/yubin.ts runs the appliance itself (before any data folder is opened for
// the other commands); the entry here is what `help` lists and explains.
import { EXIT, type Command } from './types.ts';

export const START_USAGE = 'start [--config FILE] [--data DIR [--init]]';

export const startCommand: Command = {
  name: 'start',
  summary: 'run the appliance: every listener, the queue, the console',
  usage: START_USAGE,
  surfaces: ['cli'],
  run(_args, env) {
    // Only reached through runCli, which yubin.ts does not use for start.
    env.err.write("start: run the appliance as 'yubin start' (npm start)\n");
    return EXIT.usage;
  },
};
