// The judge on bad zones, record by record: each gives a clear verdict, never a crash or a false ok.
import t from 'tap';
import { startDnsServer } from '../support/dns-server.ts';
import { createResolver } from '../../src/dns/resolver.ts';
import { checkRecords, type DnsReport } from '../../src/dnsrecords/check.ts';
import { wantedRecords, type RecordFacts } from '../../src/dnsrecords/records.ts';
import { txtRecord } from '../../src/dkimsign/keys.ts';
import { generateKeyPairSync } from 'node:crypto';

const key = generateKeyPairSync('ed25519').privateKey;
const dkimValue = txtRecord('sub.corp.test', 'yubin-ed25519', key).value;

function facts(over: Partial<RecordFacts> = {}): RecordFacts {
  return {
    hostname: 'mx.corp.test', domains: ['corp.test'], ipv4: '192.0.2.7', ipv6: '', spfExtra: [],
    dkim: [{ for: 'corp.test', domain: 'corp.test', selector: 'yubin-ed25519', value: dkimValue }],
    dmarcPolicy: 'none', dmarcRua: '', ports: { submission: 587, submissions: 465, pop3: 110, pop3s: 995 }, autoconfig: false,
    ...over,
  };
}

/** Judge the records of `f` against `zone`, SPF evaluated by mailauth through the same resolver. */
async function judge(t: Parameters<typeof startDnsServer>[0], zone: Parameters<typeof startDnsServer>[1], f = facts()): Promise<DnsReport> {
  const dns = await startDnsServer(t, zone);
  const resolver = createResolver({ servers: [dns.address], timeoutMs: 800, tries: 1 });
  const { spf } = await import('mailauth');
  const { mailauthResolver } = await import('../../src/senderauth/mailauth-dns.ts');
  return checkRecords(f, wantedRecords(f), resolver, {
    blocklists: ['bl.test'],
    async spf(ip, domain) {
      const r = await spf({ ip, sender: `postmaster@${domain}`, helo: f.hostname, mta: f.hostname, resolver: mailauthResolver(resolver), maxElapsedTime: 5000 });
      return { result: r.status.result, comment: r.status.comment ?? '' };
    },
  });
}

const of = (r: DnsReport, id: string) => r.records.find((v) => v.record.id === id)!;

t.test('a DNS server that never answers: every record "cannot tell", none ok', async (t) => {
  const r = await judge(t, {}, facts());
  const dns = await startDnsServer(t, {}, { missing: () => 'TIMEOUT' });
  const f = facts();
  const silent = await checkRecords(f, wantedRecords(f), createResolver({ servers: [dns.address], timeoutMs: 300, tries: 1 }), {
    blocklists: ['bl.test'], spf: async () => ({ result: 'temperror', comment: 'timeout' }),
  });
  t.same(silent.records.filter((v) => v.status === 'ok'), [], 'nothing is ok');
  t.same(silent.records.filter((v) => v.status !== 'unknown').map((v) => v.record.id), [], 'every one unknown');
  t.same(silent.listings.map((l) => l.status), ['unknown'], 'the block list too');
  t.ok(silent.readiness.every((x) => !x.ready), 'not ready');
  t.ok(r.records.every((v) => v.status !== 'ok' || v.record.kind === 'srv'), 'an empty zone has nothing ok');
});

t.test('trailing junk, two SPF records, obsolete DMARC tags, a refused block-list query', async (t) => {
  const r = await judge(t, {
    'corp.test': { MX: [{ preference: 10, exchange: 'mx.corp.test' }], TXT: ['v=spf1 mx -all', 'v=spf1 ip4:192.0.2.7 -all'] },
    'mx.corp.test': { A: ['192.0.2.7'] },
    '7.2.0.192.in-addr.arpa': { PTR: ['mx.corp.test'] },
    'yubin-ed25519._domainkey.corp.test': { TXT: [`${dkimValue}; trailing junk`] },
    '_dmarc.corp.test': { TXT: ['v=DMARC1; p=reject; pct=50; ri=86400; rua=mailto:d@corp.test'] },
    '7.2.0.192.bl.test': { A: ['127.255.255.254'] },
  });
  t.match(of(r, 'corp.test SPF'), { status: 'wrong', reason: /2 SPF records .*permerror/ });
  t.match(of(r, 'corp.test DKIM yubin-ed25519'), { status: 'wrong', reason: /not a tag=value list.*"trailing junk"/ });
  t.match(of(r, 'corp.test DMARC'), { status: 'warning', reason: /obsolete since RFC 9989: pct=50, ri=86400/ });
  t.match(r.listings[0], { status: 'unknown', reason: /refused the query \(127\.255\.255\.254\)/ }, 'a list\'s error code is not a listing');
  t.match(of(r, '192.0.2.7 PTR'), { status: 'ok' });
});

t.test('PTR not forward-confirmed; DMARC not aligned when the key is the parent\'s and adkim=s', async (t) => {
  const f = facts({ domains: ['sub.corp.test'], dkim: [{ for: 'sub.corp.test', domain: 'corp.test', selector: 'yubin-ed25519', value: dkimValue }] });
  const r = await judge(t, {
    'sub.corp.test': { MX: [{ preference: 10, exchange: 'mx.corp.test' }], TXT: ['v=spf1 ip4:198.51.100.1 -all'] },
    'mx.corp.test': { A: ['192.0.2.99'] },
    '7.2.0.192.in-addr.arpa': { PTR: ['mx.corp.test'] },
    'yubin-ed25519._domainkey.corp.test': { TXT: [dkimValue] },
    '_dmarc.sub.corp.test': { TXT: ['v=DMARC1; p=quarantine; adkim=s; rua=mailto:d@sub.corp.test'] },
  }, f);
  t.match(of(r, '192.0.2.7 PTR'), { status: 'wrong', reason: 'PTR names mx.corp.test, but mx.corp.test does not lead back to 192.0.2.7 (not forward-confirmed)' });
  t.match(of(r, 'sub.corp.test DKIM yubin-ed25519'), { status: 'ok' }, 'the parent\'s key is published');
  t.match(of(r, 'sub.corp.test SPF'), { status: 'wrong', reason: /does not cover the board's address 192\.0\.2\.7 \(result fail\)/ });
  t.match(of(r, 'sub.corp.test DMARC'), { status: 'wrong', reason: /DMARC not aligned: .*d=corp\.test and adkim=s asks for d=sub\.corp\.test/ });
});
