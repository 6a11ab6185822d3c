// What to publish in DNS for the board and each local domain, exactly and copy-paste ready (the
// wizard, `yubin dns`), and what the DNS watch compares the published records with. Pure: the
// facts come in (hostname, domains, public addresses, the DKIM keys held, ports), the records go
// out; src/dnsrecords/facts.ts gathers the facts, check.ts looks the records up.
import { reversedAddress } from '../net/ip.ts';
import { isIP } from 'node:net';

export type RecordKind = 'mx' | 'a' | 'aaaa' | 'ptr' | 'spf' | 'dkim' | 'dmarc' | 'dmarc-auth' | 'mta-sts' | 'mta-sts-host' | 'tls-rpt' | 'srv' | 'alias';
export type RrType = 'MX' | 'A' | 'AAAA' | 'PTR' | 'TXT' | 'SRV' | 'CNAME';

export interface WantedRecord {
  /** Stable name of the record for alerts and sensors: "example.com DKIM yubin-rsa". */
  readonly id: string;
  readonly kind: RecordKind;
  /** The local domain it serves, or '' for the board's own records (A, AAAA, PTR). */
  readonly domain: string;
  /** Owner name, without the trailing dot. */
  readonly name: string;
  readonly type: RrType;
  /** The record data in zone-file form (TXT: the text itself, unquoted); '' when it cannot be known yet. */
  readonly value: string;
  /** Why it is needed, or what is missing to make it (no public address, no DKIM key). */
  readonly why: string;
  /** A missing optional record is a warning, not a failure (client conveniences). */
  readonly optional?: boolean;
  /** SRV: the parts, for comparison. */
  readonly srv?: { readonly priority: number; readonly weight: number; readonly port: number; readonly target: string };
}

export interface RecordFacts {
  readonly hostname: string;
  readonly domains: readonly string[];
  /** Public addresses ('' when unknown / none). */
  readonly ipv4: string;
  readonly ipv6: string;
  /** The DKIM keys mail from each local domain (`for`) is signed with: its own, or its nearest
   * parent's (`domain`, the d= of the signature), with the TXT value of each (src/dkimsign/keys.ts). */
  readonly dkim: ReadonlyArray<{ readonly for: string; readonly domain: string; readonly selector: string; readonly value: string }>;
  readonly dmarcPolicy: 'none' | 'quarantine' | 'reject';
  /** Where aggregate reports go; '' means postmaster@ each domain. */
  readonly dmarcRua: string;
  readonly spfExtra: readonly string[];
  /** The ports the board serves clients on (0: off). */
  readonly ports: { readonly submission: number; readonly submissions: number; readonly pop3: number; readonly pop3s: number };
  /** Client autoconfig names (autoconfig., autodiscover.) when the web listener serves them. */
  readonly autoconfig: boolean;
  /** MTA-STS (RFC 8461) when the board publishes a policy: the policy id. */
  readonly mtaSts?: { readonly id: string } | undefined;
  /** TLS reporting (RFC 8460): where reports about this board go. */
  readonly tlsRpt?: { readonly rua: string } | undefined;
}

export const TTL = 3600;

/** The local domains that live in public DNS (not localhost or a bare name). */
export function publicDomains(domains: readonly string[]): string[] {
  return domains.filter((d) => d !== 'localhost' && d.includes('.') && !d.endsWith('.localhost') && !d.endsWith('.localdomain'));
}

/** The reverse-lookup name of an address (RFC 1035 §3.5, RFC 3596 §2.5). */
export function ptrName(ip: string): string {
  const reversed = reversedAddress(ip);
  if (!reversed) throw new Error(`not an IP address: ${ip}`);
  return `${reversed}.${isIP(ip) === 4 ? 'in-addr.arpa' : 'ip6.arpa'}`;
}

/** The SPF record the board's mail passes with (RFC 7208): its MX and its own addresses, then -all. */
export function spfValue(facts: Pick<RecordFacts, 'ipv4' | 'ipv6' | 'spfExtra'>): string {
  const terms = ['v=spf1', 'mx'];
  if (facts.ipv4) terms.push(`ip4:${facts.ipv4}`);
  if (facts.ipv6) terms.push(`ip6:${facts.ipv6}`);
  terms.push(...facts.spfExtra, '-all');
  return terms.join(' ');
}

export function ruaAddress(facts: Pick<RecordFacts, 'dmarcRua'>, domain: string): string {
  return facts.dmarcRua || `postmaster@${domain}`;
}

/** RFC 9989 §4.7: v and p first; no pct, rf or ri (gone with RFC 7489). Relaxed alignment is the default. */
export function dmarcValue(facts: Pick<RecordFacts, 'dmarcPolicy' | 'dmarcRua'>, domain: string): string {
  return `v=DMARC1; p=${facts.dmarcPolicy}; rua=mailto:${ruaAddress(facts, domain)}`;
}

/** Every record the board and its domains need, the board's own first, then domain by domain. */
export function wantedRecords(facts: RecordFacts): WantedRecord[] {
  const host = facts.hostname;
  const out: WantedRecord[] = [];
  const unknownIp = 'the public address is not known: set dnsrecords.publicIpv4 (the router\'s WAN address)';
  out.push({
    id: `${host} A`, kind: 'a', domain: '', name: host, type: 'A', value: facts.ipv4,
    why: facts.ipv4 ? 'the MX host name must lead to the board\'s public address' : unknownIp,
  });
  if (facts.ipv6) out.push({ id: `${host} AAAA`, kind: 'aaaa', domain: '', name: host, type: 'AAAA', value: facts.ipv6, why: 'the MX host name must lead to the board\'s public IPv6 address' });
  for (const ip of [facts.ipv4, facts.ipv6].filter((a) => a !== '')) {
    out.push({
      id: `${ip} PTR`, kind: 'ptr', domain: '', name: ptrName(ip), type: 'PTR', value: host,
      why: 'reverse DNS naming the host name, which leads back to the address (forward-confirmed): asked by the ISP, not in your zone; the big mailbox providers refuse mail without it',
    });
  }
  for (const domain of facts.domains) {
    out.push({ id: `${domain} MX`, kind: 'mx', domain, name: domain, type: 'MX', value: `10 ${host}.`, why: 'where the world delivers mail for the domain' });
    out.push({ id: `${domain} SPF`, kind: 'spf', domain, name: domain, type: 'TXT', value: spfValue(facts), why: 'which addresses may send mail for the domain (RFC 7208)' });
    const keys = facts.dkim.filter((k) => k.for === domain);
    if (keys.length === 0) {
      out.push({ id: `${domain} DKIM`, kind: 'dkim', domain, name: `*._domainkey.${domain}`, type: 'TXT', value: '', why: `no DKIM key is held for ${domain}: run 'yubin dkim keygen ${domain}', then publish what it prints` });
    }
    for (const k of keys) {
      out.push({ id: `${domain} DKIM ${k.selector}`, kind: 'dkim', domain, name: `${k.selector}._domainkey.${k.domain}`, type: 'TXT', value: k.value,
        why: `the public half of the key the board signs mail from ${domain} with (RFC 6376)${k.domain === domain ? '' : `, as d=${k.domain}`}` });
    }
    out.push({ id: `${domain} DMARC`, kind: 'dmarc', domain, name: `_dmarc.${domain}`, type: 'TXT', value: dmarcValue(facts, domain), why: 'what receivers do with mail that fails SPF and DKIM, and where they report (RFC 9989)' });
    const ruaDomain = ruaAddress(facts, domain).split('@')[1]!;
    if (ruaDomain !== domain && facts.domains.includes(ruaDomain)) {
      // RFC 9990 §3: a report address in another domain must say it accepts reports for this one.
      out.push({ id: `${domain} DMARC report authorisation`, kind: 'dmarc-auth', domain, name: `${domain}._report._dmarc.${ruaDomain}`, type: 'TXT', value: 'v=DMARC1', why: `${ruaDomain} accepts DMARC reports about ${domain} (RFC 9990 §3)` });
    }
    if (facts.mtaSts) {
      out.push({ id: `${domain} MTA-STS`, kind: 'mta-sts', domain, name: `_mta-sts.${domain}`, type: 'TXT', value: `v=STSv1; id=${facts.mtaSts.id}`, why: 'announces the MTA-STS policy (RFC 8461 §3.1); change id when the policy changes' });
      out.push({ id: `${domain} MTA-STS host`, kind: 'mta-sts-host', domain, name: `mta-sts.${domain}`, type: 'CNAME', value: `${host}.`, why: 'where senders fetch the policy over HTTPS (RFC 8461 §3.2)' });
    }
    if (facts.tlsRpt) {
      out.push({ id: `${domain} TLS-RPT`, kind: 'tls-rpt', domain, name: `_smtp._tls.${domain}`, type: 'TXT', value: `v=TLSRPTv1; rua=mailto:${facts.tlsRpt.rua || `postmaster@${domain}`}`, why: 'where senders report TLS trouble delivering to the board (RFC 8460 §3)' });
    }
    // RFC 6186 §3 (and RFC 8314 §5.1 for submissions): mail clients find the servers by these;
    // a target of "." says a service is not offered (IMAP is not: the board serves POP3).
    const srv = (service: string, port: number, why: string) => {
      const target = port === 0 ? '.' : `${host}.`;
      const priority = 0;
      const weight = port === 0 ? 0 : 1;
      out.push({
        id: `${domain} SRV ${service}`, kind: 'srv', domain, name: `_${service}._tcp.${domain}`, type: 'SRV', optional: true,
        value: `${priority} ${weight} ${port} ${target}`, why, srv: { priority, weight, port, target: target === '.' ? '' : host },
      });
    };
    srv('submission', facts.ports.submission, 'mail clients find the submission port (RFC 6186)');
    srv('submissions', facts.ports.submissions, 'mail clients find the implicit-TLS submission port (RFC 8314)');
    srv('pop3', facts.ports.pop3, 'mail clients find POP3 with STLS (RFC 6186)');
    srv('pop3s', facts.ports.pop3s, 'mail clients find POP3S (RFC 6186)');
    srv('imap', 0, 'IMAP is not offered: clients need not try (RFC 6186 §3.4)');
    srv('imaps', 0, 'IMAPS is not offered: clients need not try (RFC 6186 §3.4)');
    if (facts.autoconfig) {
      out.push({ id: `${domain} autoconfig`, kind: 'alias', domain, name: `autoconfig.${domain}`, type: 'CNAME', value: `${host}.`, optional: true, why: 'Thunderbird fetches its settings here (autoconfig)' });
      out.push({ id: `${domain} autodiscover`, kind: 'alias', domain, name: `autodiscover.${domain}`, type: 'CNAME', value: `${host}.`, optional: true, why: 'Outlook fetches its settings here (Autodiscover)' });
    }
  }
  return out;
}

/** A TXT text as zone-file strings of at most 255 bytes each (RFC 1035 §3.3.14), quotes escaped. */
export function txtStrings(value: string): string {
  const bytes = Buffer.from(value, 'utf8');
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 255) parts.push(`"${bytes.subarray(i, i + 255).toString('utf8').replace(/["\\]/g, '\\$&')}"`);
  return parts.length > 1 ? `( ${parts.join(' ')} )` : parts[0] ?? '""';
}

/** One zone-file line to paste: owner, TTL, class, type, data. */
export function zoneLine(r: Pick<WantedRecord, 'name' | 'type' | 'value'>): string {
  const data = r.type === 'TXT' ? txtStrings(r.value) : r.value;
  return `${r.name}. ${TTL} IN ${r.type} ${data}`;
}

/** The record's name within its group: "DKIM yubin-rsa" under its domain, "mx.example.com A" for the board. */
export function shortId(r: Pick<WantedRecord, 'id' | 'domain'>): string {
  return r.domain === '' ? r.id : r.id.slice(r.domain.length + 1);
}
