// archive search|export: the record of sent (and received) mail, docs/REQUIREMENTS.md §7.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { archiveOf } from '../../src/archive/stage.ts';
import { exportMbox } from '../../src/archive/mbox.ts';
import type { ArchiveQuery } from '../../src/archive/store.ts';
import { parseOptions, positionals } from './options.ts';
import { UsageError, type Command } from './types.ts';

const FILTERS = { from: { type: 'string' }, to: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, day: { type: 'string' } } as const;
const FILTER_USAGE = '[--from TEXT] [--to TEXT] [--since DATE] [--until DATE] [--day YYYY-MM-DD]';

/** "2026-11-27" (00:00 UTC) or an ISO date-time → epoch ms; anything else is a usage error naming the option. */
export function parseWhen(option: string, text: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--${option}: ${JSON.stringify(text)} is not a date; use YYYY-MM-DD (UTC) or an ISO date-time`);
  return ms;
}

function queryOf(values: Partial<Record<keyof typeof FILTERS, string | undefined>>): ArchiveQuery {
  const q: ArchiveQuery = {};
  if (values.from !== undefined) q.from = values.from;
  if (values.to !== undefined) q.to = values.to;
  if (values.day !== undefined) {
    q.since = parseWhen('day', values.day);
    q.until = q.since + 86_400_000;
  }
  if (values.since !== undefined) q.since = parseWhen('since', values.since);
  if (values.until !== undefined) q.until = parseWhen('until', values.until);
  return q;
}

export const archiveCommand: Command = {
  name: 'archive',
  summary: 'search and export the archive of sent mail',
  subcommands: [
    {
      name: 'search',
      summary: 'list archived messages matching sender, recipient and time',
      usage: `archive search ${FILTER_USAGE}`,
      async run(args, env) {
        const { values, positionals: rest } = parseOptions(args, FILTERS, `archive search ${FILTER_USAGE}`);
        positionals(rest, 0, `archive search ${FILTER_USAGE}`);
        let n = 0;
        for await (const m of archiveOf(env.ctx.dataDir).search(queryOf(values))) {
          n++;
          env.out.write(`${new Date(m.date).toISOString()} ${m.id} ${m.direction} <${m.from}> -> ${m.to.join(', ')} ${m.size} "${m.subject}"\n`);
        }
        env.out.write(`${n} message(s)\n`);
        return 0;
      },
    },
    {
      name: 'export',
      summary: 'write matching messages as an mbox (mboxrd) to --output FILE, or to stdout from the CLI',
      usage: `archive export ${FILTER_USAGE} [--output FILE]`,
      // Without --output the mbox streams to the CLI's own stdout: it runs there, never on the board.
      here: (args) => !args.some((a) => a === '--output' || a.startsWith('--output=')),
      async run(args, env) {
        const usage = `archive export ${FILTER_USAGE} [--output FILE]`;
        const { values, positionals: rest } = parseOptions(args, { ...FILTERS, output: { type: 'string' } }, usage);
        positionals(rest, 0, usage);
        const query = queryOf(values);
        if (values.output === undefined && env.surface !== 'cli') throw new UsageError(`the console needs --output FILE\nusage: ${usage}`);
        const out: Writable = values.output !== undefined ? createWriteStream(resolve(env.cwd ?? process.cwd(), values.output), { mode: 0o600 }) : process.stdout;
        const count = await exportMbox(archiveOf(env.ctx.dataDir), query, out);
        if (values.output !== undefined) {
          out.end();
          await once(out, 'close');
        }
        env.err.write(`${count} message(s) exported\n`);
        return 0;
      },
    },
  ],
};
