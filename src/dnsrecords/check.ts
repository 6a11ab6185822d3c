// The DNS watch's judge: each wanted record looked up through the configured resolver and given a
// verdict with its reason and, when it is not ok, the exact record that fixes it. A lookup that
// fails for a temporary reason (timeout, SERVFAIL) says "cannot tell", never "ok". The public
// address is also looked up on block lists, and a readiness line sums up the big mailbox
// providers' sender rules (Gmail and Yahoo since 2024, Microsoft since 2025: SPF, DKIM, aligned
// DMARC, forward-confirmed reverse DNS, TLS).
import type { DnsResolver, ResolveAnswer } from '../dns/resolver.ts';
import { reversedAddress } from '../net/ip.ts';
import { ptrName, zoneLine, type RecordFacts, type WantedRecord } from './records.ts';

/** ok; missing / wrong: must be fixed; warning: works, but should be better; unknown: the lookup failed. */
export type Status = 'ok' | 'missing' | 'wrong' | 'warning' | 'unknown';

export interface RecordVerdict {
  readonly record: WantedRecord;
  readonly status: Status;
  readonly reason: string;
  /** What was found, as text. */
  readonly found: readonly string[];
  /** What to publish (or ask the ISP for) to make it ok; absent when ok. */
  readonly fix?: string;
}

export interface ListingVerdict {
  readonly address: string;
  readonly zone: string;
  readonly status: 'ok' | 'wrong' | 'unknown';
  readonly reason: string;
}

export interface DnsReport {
  readonly checkedAt: string;
  readonly hostname: string;
  readonly records: readonly RecordVerdict[];
  readonly listings: readonly ListingVerdict[];
  /** One line per domain: whether the big providers' sender rules are met, and what is missing. */
  readonly readiness: ReadonlyArray<{ readonly domain: string; readonly ready: boolean; readonly missing: readonly string[] }>;
}

/** Whether a verdict needs the admin (an alert): missing or wrong, on a record that is not optional. */
export function isBroken(v: Pick<RecordVerdict, 'status'> & { record: Pick<WantedRecord, 'optional'> }): boolean {
  return (v.status === 'missing' || v.status === 'wrong') && !v.record.optional;
}

type Lookup = { ok: true; answer: ResolveAnswer } | { ok: false; absent: true; why: string } | { ok: false; absent: false; why: string };

async function look(dns: DnsResolver, name: string, type: string): Promise<Lookup> {
  try {
    return { ok: true, answer: await dns.resolve(name, type) };
  } catch (err) {
    const e = err as { permanent?: boolean; code?: string; message: string };
    const absent = e.permanent === true || e.code === 'ENOTFOUND' || e.code === 'ENODATA';
    return { ok: false, absent, why: e.message };
  }
}

/** TXT strings of one record joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2: split strings are one text). */
const texts = (answer: ResolveAnswer): string[] => (answer as string[][]).map((chunks) => chunks.join(''));
const lower = (s: string) => s.toLowerCase().replace(/\.$/, '');

/** A tag=value list (RFC 6376 §3.2, RFC 9989 §4.7); null when an item is not tag=value. */
export function parseTags(text: string): { tags: Map<string, string>; bad?: string } {
  const tags = new Map<string, string>();
  for (const raw of text.split(';')) {
    const item = raw.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq < 0 ? '' : item.slice(0, eq).trim();
    if (eq < 0 || !/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) return { tags, bad: item };
    tags.set(name.toLowerCase(), item.slice(eq + 1).trim());
  }
  return { tags };
}

export interface CheckOptions {
  /** SPF evaluation (mailauth's, with our resolver); given by the caller so this module stays small. */
  spf(ip: string, domain: string): Promise<{ result: string; comment: string }>;
  blocklists: readonly string[];
}

export async function checkRecords(facts: RecordFacts, wanted: readonly WantedRecord[], dns: DnsResolver, options: CheckOptions): Promise<DnsReport> {
  const verdicts = await Promise.all(wanted.map((r) => judge(r, facts, dns, options).catch((err: Error): RecordVerdict => ({
    record: r, status: 'unknown', reason: `check failed: ${err.message}`, found: [],
  }))));
  const byId = new Map(verdicts.map((v) => [v.record.id, v]));
  // DMARC alignment needs the SPF and DKIM verdicts of the same domain.
  const records = verdicts.map((v) => (v.record.kind === 'dmarc' && v.status === 'ok' ? alignment(v, byId, facts) : v));
  const listings = await checkListings([facts.ipv4, facts.ipv6].filter((a) => a !== ''), options.blocklists, dns);
  const readiness = facts.domains.map((domain) => {
    const missing: string[] = [];
    const need = (label: string, ok: boolean) => { if (!ok) missing.push(label); };
    const of = (pred: (v: RecordVerdict) => boolean) => records.filter(pred);
    const okAll = (list: RecordVerdict[]) => list.length > 0 && list.every((v) => v.status === 'ok' || v.status === 'warning');
    need('SPF', okAll(of((v) => v.record.domain === domain && v.record.kind === 'spf')));
    need('DKIM', okAll(of((v) => v.record.domain === domain && v.record.kind === 'dkim')));
    need('DMARC', okAll(of((v) => v.record.domain === domain && v.record.kind === 'dmarc')));
    need('forward-confirmed PTR', okAll(of((v) => v.record.kind === 'ptr')));
    need('MX', okAll(of((v) => v.record.domain === domain && v.record.kind === 'mx')));
    need('not block-listed', listings.every((l) => l.status !== 'wrong'));
    return { domain, ready: missing.length === 0, missing };
  });
  return { checkedAt: new Date().toISOString(), hostname: facts.hostname, records, listings, readiness };
}

function verdict(record: WantedRecord, status: Status, reason: string, found: string[] = []): RecordVerdict {
  if (status === 'ok') return { record, status, reason, found };
  const fix = record.value === ''
    ? undefined
    : record.kind === 'ptr' ? `ask your ISP (the address's owner) for: ${zoneLine(record)}` : `publish: ${zoneLine(record)}`;
  return { record, status, reason, found, ...(fix ? { fix } : {}) };
}

async function judge(r: WantedRecord, facts: RecordFacts, dns: DnsResolver, options: CheckOptions): Promise<RecordVerdict> {
  switch (r.kind) {
    case 'a':
    case 'aaaa': return judgeAddress(r, dns);
    case 'ptr': return judgePtr(r, dns);
    case 'mx': return judgeMx(r, facts, dns);
    case 'spf': return judgeSpf(r, facts, dns, options);
    case 'dkim': return judgeDkim(r, dns);
    case 'dmarc': return judgeDmarc(r, dns);
    case 'dmarc-auth': return judgeTxtPrefix(r, dns, 'v=DMARC1', 'report authorisation');
    case 'mta-sts': return judgeMtaSts(r, dns);
    case 'tls-rpt': return judgeTxtPrefix(r, dns, 'v=TLSRPTv1', 'TLS-RPT record');
    case 'srv': return judgeSrv(r, dns);
    case 'mta-sts-host':
    case 'alias': return judgeAlias(r, facts, dns);
  }
}

/** A lookup that failed: the record is absent (a verdict of its own) or we cannot tell. */
function failed(r: WantedRecord, l: Extract<Lookup, { ok: false }>, what: string): RecordVerdict {
  if (l.absent) return verdict(r, r.optional ? 'warning' : 'missing', `no ${what} at ${r.name}`);
  return verdict(r, 'unknown', `cannot tell: ${l.why}`);
}

async function judgeAddress(r: WantedRecord, dns: DnsResolver): Promise<RecordVerdict> {
  const l = await look(dns, r.name, r.type);
  if (!l.ok) return failed(r, l, `${r.type} record`);
  const found = l.answer as string[];
  // RFC 2181 §10.3: an MX target must not be an alias.
  const alias = await look(dns, r.name, 'CNAME');
  const aliasNote = alias.ok ? ` (but ${r.name} is an alias of ${(alias.answer as string[])[0]}: an MX target must not be a CNAME, RFC 2181 §10.3)` : '';
  if (r.value === '') return verdict(r, 'warning', `${r.why}; ${r.name} leads to ${found.join(', ')}`, found);
  if (!found.includes(r.value)) return verdict(r, 'wrong', `${r.name} leads to ${found.join(', ')}, not to the board's ${r.value}`, found);
  if (alias.ok) return verdict(r, 'warning', `${r.name} leads to ${r.value}${aliasNote}`, found);
  const others = found.filter((a) => a !== r.value);
  if (others.length > 0) return verdict(r, 'warning', `${r.name} also leads to ${others.join(', ')}: mail for the board may go there`, found);
  return verdict(r, 'ok', `${r.name} leads to ${r.value}`, found);
}

async function judgePtr(r: WantedRecord, dns: DnsResolver): Promise<RecordVerdict> {
  const ip = addressOfPtr(r.name);
  const l = await look(dns, r.name, 'PTR');
  if (!l.ok) return failed(r, l, 'reverse DNS (PTR)');
  const names = (l.answer as string[]).map(lower);
  if (!names.includes(lower(r.value))) return verdict(r, 'wrong', `the reverse DNS of ${ip} names ${names.join(', ')}, not ${r.value}`, names);
  // Forward-confirmed (FCrDNS): the name leads back to the address.
  const forward = await look(dns, r.value, ip.includes(':') ? 'AAAA' : 'A');
  if (!forward.ok && !forward.absent) return verdict(r, 'unknown', `PTR names ${r.value}; cannot tell whether it leads back: ${forward.why}`, names);
  const back = forward.ok ? (forward.answer as string[]) : [];
  if (!back.includes(ip)) return verdict(r, 'wrong', `PTR names ${r.value}, but ${r.value} does not lead back to ${ip} (not forward-confirmed)`, names);
  return verdict(r, 'ok', `${ip} is ${r.value}, and ${r.value} leads back (forward-confirmed)`, names);
}

function addressOfPtr(name: string): string {
  const labels = name.split('.');
  if (name.endsWith('.in-addr.arpa')) return labels.slice(0, 4).reverse().join('.');
  const nibbles = labels.slice(0, 32).reverse().join('');
  return nibbles.match(/.{4}/g)!.join(':').replace(/(^|:)0{1,3}/g, '$1').replace(/(^|:)(0(:|$)){2,}/, '::').replace(/:{3,}/, '::');
}

async function judgeMx(r: WantedRecord, facts: RecordFacts, dns: DnsResolver): Promise<RecordVerdict> {
  const l = await look(dns, r.name, 'MX');
  if (!l.ok) {
    if (l.absent) return verdict(r, 'missing', `${r.name} has no MX record: many senders will not deliver to it (the A-record fallback of RFC 5321 §5.1 is not enough)`);
    return verdict(r, 'unknown', `cannot tell: ${l.why}`);
  }
  const mx = (l.answer as Array<{ priority: number; exchange: string }>).map((m) => ({ priority: m.priority, exchange: lower(m.exchange) }));
  const found = mx.map((m) => `${m.priority} ${m.exchange || '.'}`);
  if (mx.some((m) => m.exchange === '')) return verdict(r, 'wrong', `${r.name} publishes a null MX (RFC 7505): it says the domain accepts no mail`, found);
  const ours = mx.filter((m) => m.exchange === lower(facts.hostname));
  if (ours.length === 0) return verdict(r, 'wrong', `the MX of ${r.name} is ${found.join(', ')}, not the board (${facts.hostname})`, found);
  const best = Math.min(...mx.map((m) => m.priority));
  const others = mx.filter((m) => m.exchange !== lower(facts.hostname) && m.priority <= best);
  if (ours[0]!.priority > best || others.length > 0) return verdict(r, 'warning', `${others.map((m) => m.exchange).join(', ')} is preferred over or equal to the board: mail goes there first`, found);
  return verdict(r, 'ok', `mail for ${r.name} goes to ${facts.hostname}`, found);
}

async function judgeSpf(r: WantedRecord, facts: RecordFacts, dns: DnsResolver, options: CheckOptions): Promise<RecordVerdict> {
  const l = await look(dns, r.name, 'TXT');
  if (!l.ok) return failed(r, l, 'SPF record (TXT v=spf1)');
  const spf = texts(l.answer).filter((t) => /^v=spf1(\s|$)/i.test(t));
  if (spf.length === 0) return verdict(r, 'missing', `no SPF record at ${r.name} (TXT records found: ${texts(l.answer).length})`);
  if (spf.length > 1) return verdict(r, 'wrong', `${spf.length} SPF records at ${r.name}: receivers treat that as an error (permerror, RFC 7208 §4.5); keep one`, spf);
  const ips = [facts.ipv4, facts.ipv6].filter((a) => a !== '');
  if (ips.length === 0) return verdict(r, 'warning', `cannot tell whether "${spf[0]}" covers the board: its public address is not set (dnsrecords.publicIpv4)`, spf);
  for (const ip of ips) {
    const res = await options.spf(ip, r.domain);
    if (res.result === 'temperror') return verdict(r, 'unknown', `cannot tell: SPF evaluation failed temporarily (${res.comment})`, spf);
    if (res.result === 'permerror') return verdict(r, 'wrong', `the SPF record is broken (permerror: ${res.comment}): "${spf[0]}"`, spf);
    if (res.result !== 'pass') return verdict(r, 'wrong', `SPF does not cover the board's address ${ip} (result ${res.result}): "${spf[0]}"`, spf);
  }
  return verdict(r, 'ok', `SPF passes for ${ips.join(' and ')}`, spf);
}

async function judgeDkim(r: WantedRecord, dns: DnsResolver): Promise<RecordVerdict> {
  if (r.value === '') return { record: r, status: 'missing', reason: r.why, found: [], fix: `run: yubin dkim keygen ${r.domain}` };
  const l = await look(dns, r.name, 'TXT');
  if (!l.ok) return failed(r, l, 'DKIM key record');
  const all = texts(l.answer);
  const keys = all.filter((t) => /^\s*v\s*=\s*DKIM1\s*(;|$)/.test(t) || /(^|;)\s*p\s*=/.test(t));
  if (keys.length === 0) return verdict(r, 'missing', `no DKIM key record at ${r.name} (TXT found: ${all.map((t) => `"${t.slice(0, 40)}"`).join(', ') || 'none'})`, all);
  if (keys.length > 1) return verdict(r, 'wrong', `${keys.length} key records at ${r.name}: verifiers may pick either; keep one`, keys);
  const { tags, bad } = parseTags(keys[0]!);
  if (bad !== undefined) return verdict(r, 'wrong', `the key record is not a tag=value list (RFC 6376 §3.2): "${bad}"`, keys);
  const want = parseTags(r.value).tags;
  const p = (tags.get('p') ?? '').replace(/\s+/g, '');
  if (p === '') return verdict(r, 'wrong', 'the published key is empty: revoked (RFC 6376 §3.6.1)', keys);
  if ((tags.get('k') ?? 'rsa') !== want.get('k')) return verdict(r, 'wrong', `the published key type is k=${tags.get('k') ?? 'rsa'}, the board's key is k=${want.get('k')}`, keys);
  if (p !== want.get('p')) return verdict(r, 'wrong', 'the published key is not the board\'s key: signatures will fail (wrong DKIM key)', keys);
  return verdict(r, 'ok', `the published key is the board's ${want.get('k')} key`, keys);
}

async function judgeDmarc(r: WantedRecord, dns: DnsResolver): Promise<RecordVerdict> {
  const l = await look(dns, r.name, 'TXT');
  if (!l.ok) return failed(r, l, 'DMARC record');
  const all = texts(l.answer);
  const dmarc = all.filter((t) => /^v\s*=\s*DMARC1\s*(;|$)/.test(t));
  if (dmarc.length === 0) {
    const other = all.length > 0 ? ` (the TXT found there is not DMARC: "${all[0]!.slice(0, 60)}", from a wildcard?)` : '';
    return verdict(r, 'missing', `no DMARC record at ${r.name}${other}`, all);
  }
  // RFC 9989 §4.10.1: more than one record means none applies.
  if (dmarc.length > 1) return verdict(r, 'wrong', `${dmarc.length} DMARC records at ${r.name}: receivers then apply none; keep one`, dmarc);
  const { tags, bad } = parseTags(dmarc[0]!);
  if (bad !== undefined) return verdict(r, 'wrong', `the DMARC record is not a tag=value list: "${bad}"`, dmarc);
  const p = tags.get('p');
  if (p === undefined || !['none', 'quarantine', 'reject'].includes(p)) return verdict(r, 'wrong', `the DMARC record has no valid p= (found ${p === undefined ? 'none' : `p=${p}`})`, dmarc);
  for (const mode of ['adkim', 'aspf'] as const) {
    const m = tags.get(mode);
    if (m !== undefined && m !== 'r' && m !== 's') return verdict(r, 'wrong', `${mode}=${m} is not r or s`, dmarc);
  }
  // RFC 9989 §4.7 replaced RFC 7489: pct, rf and ri are gone (t= replaces pct).
  const obsolete = ['pct', 'rf', 'ri'].filter((t) => tags.has(t));
  const rua = tags.get('rua');
  if (obsolete.length > 0) return verdict(r, 'warning', `obsolete since RFC 9989: ${obsolete.map((t) => `${t}=${tags.get(t)}`).join(', ')} (remove; use t=y instead of pct)`, dmarc);
  if (rua === undefined || !/mailto:[^\s@]+@/i.test(rua)) return verdict(r, 'warning', 'no rua=mailto: address: nobody reports to you who sends mail in your name', dmarc);
  return verdict(r, 'ok', `p=${p}, reports to ${rua.replace(/^mailto:/i, '')}`, dmarc);
}

/** Mail from the board passes DMARC when its DKIM signature or its SPF pass is aligned (RFC 9989 §4.4). */
function alignment(v: RecordVerdict, byId: Map<string, RecordVerdict>, facts: RecordFacts): RecordVerdict {
  const domain = v.record.domain;
  const tags = parseTags(v.found[0] ?? '').tags;
  const signer = facts.dkim.find((k) => k.for === domain)?.domain ?? '';
  const dkimOk = [...byId.values()].some((x) => x.record.kind === 'dkim' && x.record.domain === domain && x.status === 'ok');
  const dkimAligned = dkimOk && (signer === domain || (tags.get('adkim') !== 's' && domain.endsWith(`.${signer}`)));
  // The board's mail carries the author's domain in MAIL FROM, so a passing SPF is aligned in either mode.
  const spfOk = byId.get(`${domain} SPF`)?.status === 'ok';
  if (dkimAligned || spfOk) return v;
  const why = !dkimOk ? 'no published DKIM key of the board verifies' : `the signature is d=${signer} and adkim=s asks for d=${domain}`;
  return verdict(v.record, 'wrong', `DMARC not aligned: mail from the board would fail it (${why}, and SPF does not pass)`, [...v.found]);
}

async function judgeTxtPrefix(r: WantedRecord, dns: DnsResolver, prefix: string, what: string): Promise<RecordVerdict> {
  const l = await look(dns, r.name, 'TXT');
  if (!l.ok) return failed(r, l, what);
  const found = texts(l.answer).filter((t) => t.startsWith(prefix));
  if (found.length === 0) return verdict(r, 'missing', `no ${what} at ${r.name}`, texts(l.answer));
  if (found.length > 1) return verdict(r, 'wrong', `${found.length} records starting ${prefix} at ${r.name}: keep one`, found);
  if (r.kind === 'tls-rpt' && !/rua=(mailto|https):/i.test(found[0]!)) return verdict(r, 'wrong', `the TLS-RPT record has no rua=`, found);
  return verdict(r, 'ok', `"${found[0]}"`, found);
}

async function judgeMtaSts(r: WantedRecord, dns: DnsResolver): Promise<RecordVerdict> {
  const l = await look(dns, r.name, 'TXT');
  if (!l.ok) return failed(r, l, 'MTA-STS record');
  const found = texts(l.answer).filter((t) => /^v=STSv1\s*;/.test(t));
  if (found.length !== 1) return verdict(r, found.length === 0 ? 'missing' : 'wrong', found.length === 0 ? `no MTA-STS record at ${r.name}` : 'several MTA-STS records: senders ignore them all (RFC 8461 §3.1)', found);
  const id = parseTags(found[0]!).tags.get('id');
  const want = parseTags(r.value).tags.get('id');
  if (id !== want) return verdict(r, 'wrong', `id=${id ?? '(none)'} is not the id of the policy served (${want}): senders keep an old policy`, found);
  return verdict(r, 'ok', `policy id ${id}`, found);
}

async function judgeSrv(r: WantedRecord, dns: DnsResolver): Promise<RecordVerdict> {
  const l = await look(dns, r.name, 'SRV');
  if (!l.ok) return failed(r, l, 'SRV record');
  const srv = (l.answer as Array<{ priority: number; weight: number; port: number; name: string }>).map((s) => ({ ...s, name: lower(s.name) }));
  const found = srv.map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name || '.'}`);
  const want = r.srv!;
  if (want.target === '') {
    return srv.every((s) => s.name === '') ? verdict(r, 'ok', 'says the service is not offered', found)
      : verdict(r, 'warning', `points clients at ${found.join(', ')} for a service the board does not offer`, found);
  }
  if (srv.some((s) => s.name === lower(want.target) && s.port === want.port)) return verdict(r, 'ok', `${want.target} port ${want.port}`, found);
  return verdict(r, 'wrong', `points at ${found.join(', ')}, not ${want.target} port ${want.port}`, found);
}

async function judgeAlias(r: WantedRecord, facts: RecordFacts, dns: DnsResolver): Promise<RecordVerdict> {
  const c = await look(dns, r.name, 'CNAME');
  if (c.ok) {
    const target = lower((c.answer as string[])[0] ?? '');
    return target === lower(facts.hostname) ? verdict(r, 'ok', `alias of ${facts.hostname}`, [target]) : verdict(r, r.optional ? 'warning' : 'wrong', `alias of ${target}, not ${facts.hostname}`, [target]);
  }
  if (!c.absent) return verdict(r, 'unknown', `cannot tell: ${c.why}`);
  const a = await look(dns, r.name, 'A');
  if (!a.ok) return failed(r, a, 'name');
  const found = a.answer as string[];
  if (facts.ipv4 && found.includes(facts.ipv4)) return verdict(r, 'ok', `leads to the board's ${facts.ipv4}`, found);
  return verdict(r, r.optional ? 'warning' : 'wrong', `leads to ${found.join(', ')}, not the board`, found);
}

/** RFC 5782 §2.1: listed when the reversed address under the zone has an A record in 127.0.0.0/8. */
async function checkListings(addresses: readonly string[], zones: readonly string[], dns: DnsResolver): Promise<ListingVerdict[]> {
  const out: ListingVerdict[] = [];
  await Promise.all(addresses.flatMap((address) => zones.map(async (zone) => {
    const name = `${reversedAddress(address)}.${zone}`;
    const l = await look(dns, name, 'A');
    if (!l.ok) {
      out.push(l.absent ? { address, zone, status: 'ok', reason: 'not listed' } : { address, zone, status: 'unknown', reason: `cannot tell: ${l.why}` });
      return;
    }
    const codes = l.answer as string[];
    // 127.255.255.x: the list's own error codes (a public resolver, over quota), not a listing.
    if (codes.every((c) => c.startsWith('127.255.255.'))) {
      out.push({ address, zone, status: 'unknown', reason: `the list refused the query (${codes.join(', ')}): query it through a resolver of your own` });
      return;
    }
    const txt = await look(dns, name, 'TXT');
    const why = txt.ok ? `: ${texts(txt.answer).join(' ')}` : '';
    out.push({ address, zone, status: 'wrong', reason: `listed (${codes.join(', ')})${why}` });
  })));
  return out.sort((a, b) => (a.address + a.zone).localeCompare(b.address + b.zone));
}

