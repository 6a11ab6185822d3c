// mtasts records: what to publish in DNS for the board's own MTA-STS policy and TLS reports, per
// local domain, and whether DNS (through dns.servers) already says so.
import { resolverFromSettings } from '../../src/dns/resolver.ts';
import { ownPolicy, policyId, recordsFor } from '../../src/mtasts/inbound.ts';
import { formatPolicy, parseStsRecord } from '../../src/mtasts/policy.ts';
import { positionals } from './options.ts';
import type { Command } from './types.ts';

export const mtastsCommand: Command = {
  name: 'mtasts',
  summary: 'MTA-STS and TLS-RPT for the local domains: the DNS records to publish',
  subcommands: [
    {
      name: 'records',
      summary: 'the records to publish for each local domain, checked against DNS',
      usage: 'mtasts records',
      async run(args, env) {
        positionals(args, 0, 'mtasts records');
        const s = env.ctx.store.settings;
        const policy = ownPolicy(s);
        if (policy.mode === 'none') {
          env.out.write('mtasts.mode is none: no policy is published. Start with `config set mtasts.mode testing`.\n');
          return 0;
        }
        const resolver = resolverFromSettings(env.ctx.store);
        env.out.write(`policy served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt (web.tlsPort ${s['web.tlsPort']}; forward 443 to it):\n`);
        env.out.write(formatPolicy(policy).replace(/^/gm, '  ').replace(/\r/g, '').trimEnd() + '\n');
        for (const domain of s.domains) {
          env.out.write(`\n${domain}:\n`);
          for (const { record, why } of recordsFor(s, domain)) env.out.write(`  ${record}\n    ; ${why}\n`);
          const published = await resolver.resolveTxt(`_mta-sts.${domain}`).then((r) => parseStsRecord(r.map((p) => p.join(''))), () => null);
          const want = policyId(policy);
          if (!published) env.out.write(`  DNS: no _mta-sts record yet\n`);
          else if ('error' in published) env.out.write(`  DNS: the _mta-sts record is unusable: ${published.error}\n`);
          else if (published.id !== want) env.out.write(`  DNS: _mta-sts has id=${published.id}; publish id=${want} so senders fetch the current policy\n`);
          else env.out.write('  DNS: _mta-sts is up to date\n');
        }
        return 0;
      },
    },
  ],
};
