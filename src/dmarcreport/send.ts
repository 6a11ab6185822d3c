// Sending one UTC day's aggregate reports: per policy domain, the XML (aggregate.ts), gzip, within
// dmarcreport.maxBytes, mailed to the rua addresses that may receive it (RFC 9990 §3: a report
// address outside the policy domain's organisation must publish <domain>._report._dmarc.<its
// domain>), as a message with the report attached (RFC 9990 §3.1: Subject, file name).
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.ts';
import type { DmarcEvaluated } from '../events/bus.ts';
import type { DnsResolver } from '../dns/resolver.ts';
import { countRows, reportXml, type ReportMeta } from './aggregate.ts';

export interface OutgoingReport {
  policyDomain: string;
  to: string[];
  filename: string;
  gzip: Buffer;
  /** The message, CRLF line ends. */
  message: string;
  /** Rows left out to stay within the size cap. */
  omitted: number;
}

/** One domain is the other or below it: the same organisation, whatever its public suffix. */
const related = (a: string, b: string) => a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);

/** The rua addresses allowed to get reports about `policyDomain` (RFC 9990 §3, external destinations). */
export async function allowedDestinations(policyDomain: string, rua: readonly string[], dns: DnsResolver): Promise<string[]> {
  const out: string[] = [];
  for (const address of rua) {
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    if (related(domain, policyDomain)) {
      out.push(address);
      continue;
    }
    try {
      const txt = (await dns.resolveTxt(`${policyDomain}._report._dmarc.${domain}`)).map((c) => c.join(''));
      if (txt.some((t) => /^v=DMARC1\s*(;|$)/.test(t))) out.push(address);
    } catch {
      // No authorisation record: that destination gets nothing.
    }
  }
  return out;
}

export interface BuildOptions {
  hostname: string;
  orgName: string;
  from: string;
  maxBytes: number;
  version: string;
}

/** The day's reports, one per policy domain (destinations not yet filtered). */
export function buildReports(day: string, rows: readonly DmarcEvaluated[], options: BuildOptions): Array<Omit<OutgoingReport, 'to'> & { rua: string[] }> {
  const begin = Date.parse(`${day}T00:00:00Z`) / 1000;
  const end = begin + 86_399;
  const byDomain = new Map<string, DmarcEvaluated[]>();
  for (const r of rows) byDomain.set(r.policyDomain, [...(byDomain.get(r.policyDomain) ?? []), r]);
  const out = [];
  for (const [policyDomain, list] of byDomain) {
    const unique = randomBytes(4).toString('hex');
    const reportId = `${day}.${policyDomain}.${unique}@${options.hostname}`;
    const meta: ReportMeta = { orgName: options.orgName, email: options.from, reportId, begin, end, generator: `Yubin ${options.version}` };
    let counted = countRows(list);
    let omitted = 0;
    let xmlText = reportXml(policyDomain, counted, meta);
    let gz = gzipSync(xmlText);
    // Over the cap: leave out the smallest records (halving what is left out each time converges fast).
    while (gz.length > options.maxBytes && counted.length > 1) {
      const keep = Math.max(1, Math.floor(counted.length * Math.min(0.9, options.maxBytes / gz.length)));
      omitted += counted.slice(keep).reduce((n, c) => n + c.count, 0);
      counted = counted.slice(0, keep);
      xmlText = reportXml(policyDomain, counted, meta, `${omitted} messages in records left out to keep the report under ${options.maxBytes} bytes`);
      gz = gzipSync(xmlText);
    }
    // RFC 9990 §3.1.1: receiver "!" policy domain "!" begin "!" end [ "!" unique-id ] ".xml.gz"
    const filename = `${options.hostname}!${policyDomain}!${begin}!${end}!${unique}.xml.gz`;
    const rua = [...new Set(list.flatMap((r) => r.rua))];
    out.push({ policyDomain, rua, filename, gzip: gz, omitted, message: reportMessage(policyDomain, reportId, filename, gz, options, day) });
  }
  return out;
}

function reportMessage(policyDomain: string, reportId: string, filename: string, gz: Buffer, o: BuildOptions, day: string): string {
  const boundary = `=_yubin_${randomBytes(8).toString('hex')}`;
  const b64 = gz.toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    `From: ${o.from}`,
    'To: dmarc-reports',
    // RFC 9990 §3.1.1: "Report Domain: <policy domain> Submitter: <org> Report-ID: <id>"
    `Subject: Report Domain: ${policyDomain} Submitter: ${o.orgName} Report-ID: <${reportId}>`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${reportId}>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `DMARC aggregate report for ${policyDomain}, ${day} (UTC), from ${o.orgName}.`,
    '',
    `--${boundary}`,
    `Content-Type: application/gzip; name="${filename}"`,
    `Content-Disposition: attachment; filename="${filename}"`,
    'Content-Transfer-Encoding: base64',
    '',
    b64.replace(/\r\n$/, ''),
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

/** The From address and organisation the reports carry. */
export function reporter(ctx: Pick<Context, 'store'>): { from: string; orgName: string } {
  const s = ctx.store.settings;
  const first = s.domains.find((d) => d !== 'localhost') ?? s.hostname;
  return { from: s['dmarcreport.from'] || `dmarc-reports@${first}`, orgName: s['dmarcreport.orgName'] || s.hostname };
}
