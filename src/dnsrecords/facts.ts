// The facts the DNS records come from, read from the running configuration and the DKIM keys the
// board holds; and the SPF evaluation the check uses (mailauth's, with the configured resolver).
import type { Context } from '../context.ts';
import { keysFor } from '../dkimsign/sign.ts';
import { txtRecord } from '../dkimsign/keys.ts';
import { mailauthResolver } from '../senderauth/mailauth-dns.ts';
import { SPF_TIME_LIMIT_MS } from '../senderauth/senderid.ts';
import type { DnsResolver } from '../dns/resolver.ts';
import { publicDomains, type RecordFacts } from './records.ts';
import type { CheckOptions } from './check.ts';

/** Features other stations publish records for (MTA-STS and TLS-RPT, src/web's policy route): the
 * supervisor passes what they say when they are on. */
export interface FeatureRecords {
  mtaSts?: () => { id: string } | undefined;
  tlsRpt?: () => { rua: string } | undefined;
}

export async function gatherFacts(ctx: Pick<Context, 'store' | 'dataDir'>, features: FeatureRecords = {}): Promise<RecordFacts> {
  const s = ctx.store.settings;
  const domains = publicDomains(s.domains);
  const dkim: Array<{ for: string; domain: string; selector: string; value: string }> = [];
  for (const domain of domains) {
    for (const key of await keysFor(ctx.dataDir, domain, s['dkimsign.domains'])) {
      dkim.push({ for: domain, domain: key.domain, selector: key.selector, value: txtRecord(key.domain, key.selector, key.privateKeyPem).value });
    }
  }
  return {
    hostname: s.hostname,
    domains,
    ipv4: s['dnsrecords.publicIpv4'],
    ipv6: s['dnsrecords.publicIpv6'],
    dkim,
    dmarcPolicy: s['dnsrecords.dmarcPolicy'],
    dmarcRua: s['dnsrecords.dmarcRua'],
    spfExtra: s['dnsrecords.spfExtra'],
    ports: { submission: s['smtp.submissionPort'], submissions: s['smtp.smtpsPort'], pop3: s['pop3.port'], pop3s: s['pop3.tlsPort'] },
    autoconfig: s['autoconfig.enabled'],
    mtaSts: features.mtaSts?.(),
    tlsRpt: features.tlsRpt?.(),
  };
}

export function checkOptions(ctx: Pick<Context, 'store'>, dns: DnsResolver): CheckOptions {
  const s = ctx.store.settings;
  const resolver = mailauthResolver(dns);
  return {
    blocklists: s['dnsrecords.blocklists'].length > 0 ? s['dnsrecords.blocklists'] : s['spam.dnsbl'],
    async spf(ip, domain) {
      // mailauth (~30 MiB of RSS) is loaded with the first check, never on an idle board.
      const { spf } = (await import('mailauth')).default;
      const res = await spf({ ip, sender: `postmaster@${domain}`, helo: s.hostname, mta: s.hostname, strict: true, maxElapsedTime: SPF_TIME_LIMIT_MS, resolver });
      return { result: res.status.result, comment: res.status.comment ?? '' };
    },
  };
}
