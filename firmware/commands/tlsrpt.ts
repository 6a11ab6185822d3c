// tlsrpt show|send: the TLS outcomes of outbound mail per recipient domain and day (RFC 8460),
// and sending a day's reports now (the running firmware sends each day's after midnight UTC).
import { Spool } from '../../src/spool/spool.ts';
import { dayOf } from '../../src/tlsrpt/recorder.ts';
import { sendReports } from '../../src/tlsrpt/service.ts';
import { tlsReportRecorder } from '../queue-station.ts';
import { parseOptions, positionals } from './options.ts';
import { UsageError, type Command } from './types.ts';

function dayArg(args: string[], usage: string): string {
  const { values, positionals: rest } = parseOptions([...args], { day: { type: 'string' } }, usage);
  positionals(rest, 0, usage);
  const day = values.day === undefined || values.day === 'yesterday' ? dayOf(Date.now() - 86_400_000) : values.day === 'today' ? dayOf(Date.now()) : values.day;
  if (!/^\d{4}-\d\d-\d\d$/.test(day)) throw new UsageError(`--day: YYYY-MM-DD, today or yesterday\nusage: ${usage}`);
  return day;
}

export const tlsrptCommand: Command = {
  name: 'tlsrpt',
  summary: 'TLS reports (RFC 8460): outbound TLS per recipient domain and day; send a day\'s reports',
  subcommands: [
    {
      name: 'show',
      summary: 'sessions per recipient domain for a day (default yesterday, UTC), failures by kind',
      usage: 'tlsrpt show [--day YYYY-MM-DD|today|yesterday]',
      async run(args, env) {
        const day = dayArg(args, 'tlsrpt show [--day YYYY-MM-DD|today|yesterday]');
        const record = await tlsReportRecorder(env.ctx).read(day);
        if (!record || Object.keys(record.domains).length === 0) {
          env.out.write(`no outbound TLS recorded for ${day}\n`);
          return 0;
        }
        for (const [domain, d] of Object.entries(record.domains).sort()) {
          const failed = d.failures.reduce((n, f) => n + f.count, 0);
          env.out.write(`${domain} (${d.policy.type}): ${d.success} ok, ${failed} failed\n`);
          for (const f of d.failures) env.out.write(`  ${f.count} × ${f.type}${f.receivingMx ? ` ${f.receivingMx}` : ''}${f.receivingIp ? ` [${f.receivingIp}]` : ''}${f.reason ? `: ${f.reason}` : ''}\n`);
        }
        return 0;
      },
    },
    {
      name: 'send',
      summary: 'send a day\'s reports now to the domains that ask for them (_smtp._tls)',
      usage: 'tlsrpt send [--day YYYY-MM-DD|today|yesterday]',
      async run(args, env) {
        const day = dayArg(args, 'tlsrpt send [--day YYYY-MM-DD|today|yesterday]');
        // The running queue manager picks injected mail up when it rescans the queue (every 5 s).
        const sent = await sendReports({ ctx: env.ctx, recorder: tlsReportRecorder(env.ctx), spool: new Spool(env.ctx.dataDir), enqueue: () => undefined }, day);
        if (sent.length === 0) env.out.write(`no report to send for ${day} (none recorded, already sent, or no domain asks)\n`);
        for (const r of sent) env.out.write(`${r.domain}: ${r.via} to ${r.to}: ${r.result}\n`);
        return 0;
      },
    },
  ],
};
