// dns (and console `show dns`): the DNS records wizard. Per local domain, exactly what to publish,
// checked against DNS through the configured resolver: a verdict per record, and for each that is
// not ok the line that fixes it. --offline prints the zone lines without looking anything up.
import { runDnsCheck } from '../../src/dnsrecords/watch.ts';
import { gatherFacts } from '../../src/dnsrecords/facts.ts';
import { wantedRecords } from '../../src/dnsrecords/records.ts';
import { formatReport, formatWanted } from '../../src/dnsrecords/format.ts';
import { parseOptions, positionals } from './options.ts';
import type { Command, CommandEnv } from './types.ts';

const USAGE = 'dns [--offline]';

export async function showDns(env: CommandEnv, offline: boolean): Promise<number> {
  if (offline) {
    const facts = await gatherFacts(env.ctx, env.hooks.dnsFeatures);
    env.out.write(formatWanted(wantedRecords(facts), facts.hostname));
    return 0;
  }
  const report = await runDnsCheck(env.ctx, env.hooks.dnsFeatures);
  env.out.write(formatReport(report));
  const bad = report.records.some((v) => v.status === 'missing' || v.status === 'wrong') || report.listings.some((l) => l.status === 'wrong');
  return bad ? 1 : 0;
}

export const dnsCommand: Command = {
  name: 'dns',
  summary: 'the DNS records to publish for each domain, checked against DNS (--offline: only print them)',
  usage: USAGE,
  async run(args, env) {
    const { values, positionals: rest } = parseOptions(args, { offline: { type: 'boolean' } }, USAGE);
    positionals(rest, 0, USAGE);
    return showDns(env, values.offline === true);
  },
};
