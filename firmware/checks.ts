// Diagnostics for `yubin check …` and the console's `check …`: sender authentication as seen by
// an outside MTA, with the reasons. `--dns HOST:PORT` picks the resolver (default: dns.servers).
import { parseArgs } from 'node:util';
import type { Diagnosis } from '../src/senderauth/check.ts';
import { UsageError, type CheckHook, type Writer } from './commands/types.ts';
import type { Context } from '../src/context.ts';

type Options = { ip?: string; helo?: string; from?: string; dns?: string };

function parse(args: readonly string[], usage: string, files: number): { options: Options; files: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { ip: { type: 'string' }, helo: { type: 'string' }, from: { type: 'string' }, dns: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== files) throw new Error(files === 1 ? 'a message file is needed' : 'no file is taken');
    return { options: values, files: positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}\nusage: ${usage}`);
  }
}

function need(value: string | undefined, name: string, usage: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required\nusage: ${usage}`);
  return value;
}

function print(out: Writer, d: Diagnosis): number {
  out.write(`result: ${d.result}\n`);
  for (const line of d.why) out.write(`  why: ${line}\n`);
  return 0;
}

// mailauth (behind check.ts) is the largest library we use: loaded by the first check run, not at start.
const checks = () => import('../src/senderauth/check.ts');

export function senderAuthChecks(ctx: Context): Record<string, CheckHook> {
  // The configured resolver unless --dns names another (tests and small offices run their own).
  const dnsOf = (o: Options) => o.dns ?? (ctx.store.get('dns.servers')[0] || undefined);
  const hook = (usage: string, summary: string, files: number, run: (o: Options, files: string[]) => Promise<Diagnosis>): CheckHook => ({
    usage,
    summary,
    async run(args, out) {
      const { options, files: f } = parse(args, usage, files);
      return print(out, await run(options, f));
    },
  });
  return {
    spf: hook('check spf --ip IP --helo NAME --from ADDR [--dns H:P]', 'SPF (RFC 7208) for a client, HELO and sender', 0, async (o) => {
      const u = 'check spf --ip IP --helo NAME --from ADDR';
      const args = { ip: need(o.ip, 'ip', u), helo: need(o.helo, 'helo', u), from: o.from ?? '', dns: dnsOf(o) };
      return (await checks()).checkSpf(args);
    }),
    senderid: hook('check senderid FILE --ip IP [--dns H:P]', 'Sender ID (RFC 4406) of a message file', 1, async (o, [file]) => {
      const args = { ip: need(o.ip, 'ip', 'check senderid FILE --ip IP'), ...(o.helo ? { helo: o.helo } : {}), ...(o.from ? { from: o.from } : {}), dns: dnsOf(o) };
      return (await checks()).checkSenderId(file!, args);
    }),
    dkim: hook('check dkim FILE [--dns H:P]', 'DKIM signatures (RFC 6376, RFC 8301 key rules)', 1, async (o, [file]) => (await checks()).checkDkim(file!, { dns: dnsOf(o) })),
    dmarc: hook('check dmarc FILE --ip IP --from ADDR [--dns H:P]', 'DMARC (RFC 7489) of a message file', 1, async (o, [file]) => {
      const u = 'check dmarc FILE --ip IP --from ADDR';
      const args = { ip: need(o.ip, 'ip', u), from: need(o.from, 'from', u), ...(o.helo ? { helo: o.helo } : {}), dns: dnsOf(o) };
      return (await checks()).checkDmarc(file!, args);
    }),
    arc: hook('check arc FILE [--dns H:P]', 'ARC chain (RFC 8617) of a message file', 1, async (o, [file]) => (await checks()).checkArc(file!, { dns: dnsOf(o) })),
  };
}
