// trace QUEUE-ID | ADDRESS [--since WHEN]: what happened to a message, or to recent mail to or from
// an address, told from the message trace (src/maillog/story.ts).
import { traceStory } from '../../src/maillog/story.ts';
import { parseOptions, positionals } from './options.ts';
import { UsageError, type Command } from './types.ts';

const USAGE = 'trace QUEUE-ID | ADDRESS [--since 2h|3d|DATE] [--limit N]';

/** "90m", "2h", "3d" before now, or a date/time (UTC unless it says otherwise). */
export function parseSince(text: string, now = Date.now()): number {
  const ago = /^(\d+)\s*([mhd])$/.exec(text.trim());
  if (ago) return now - Number(ago[1]) * { m: 60_000, h: 3600_000, d: 86400_000 }[ago[2] as 'm' | 'h' | 'd'];
  const at = Date.parse(/^\d{4}-\d\d-\d\d$/.test(text.trim()) ? `${text.trim()}T00:00:00Z` : text);
  if (Number.isNaN(at)) throw new UsageError(`--since: ${JSON.stringify(text)} is not allowed: expected 90m, 2h, 3d or a date such as 2025-06-01\nusage: ${USAGE}`);
  return at;
}

export const traceCommand: Command = {
  name: 'trace',
  summary: 'what happened to a message (by queue ID) or to recent mail to or from an address',
  usage: USAGE,
  async run(args, env) {
    const { values, positionals: rest } = parseOptions(args, { since: { type: 'string' }, limit: { type: 'string' } }, USAGE);
    const [target] = positionals(rest, 1, USAGE);
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError(`--limit: expected a positive whole number\nusage: ${USAGE}`);
    env.out.write(await traceStory(env.ctx, { target: target!, ...(values.since !== undefined ? { since: parseSince(values.since) } : {}), ...(limit ? { limit } : {}) }));
    return 0;
  },
};
