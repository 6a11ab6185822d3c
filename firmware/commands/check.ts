// check NAME …: the diagnostics the stations lend (sender authentication: spf, dkim, dmarc…).
import { notAvailable } from './not-available.ts';
import type { Command } from './types.ts';

export const checkCommand: Command = {
  name: 'check',
  summary: 'run a diagnostic (check with no name lists those available)',
  usage: 'check [NAME ARGS...]',
  async run(args, env) {
    const checks = env.hooks.checks ?? {};
    const [name, ...rest] = args;
    if (name === undefined) {
      const names = Object.keys(checks).sort();
      if (names.length === 0) return notAvailable(env, 'check');
      for (const n of names) env.out.write(`${checks[n]!.usage.padEnd(32)} ${checks[n]!.summary}\n`);
      return 0;
    }
    const check = Object.hasOwn(checks, name) ? checks[name] : undefined;
    if (!check) return notAvailable(env, `check ${name}`);
    return check.run(rest, env.out);
  },
};
