// The daily TLS report (RFC 8460 §4): the JSON of one recipient domain's day, gzip'd, mailed as
// multipart/report; report-type="tlsrpt" (§5.3) to the mailto: addresses of its _smtp._tls
// record, or POSTed to its https: ones (§5.4). The record's rua list is parsed here (§3).
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { DayRecord } from './recorder.ts';

export interface Rua {
  mailto: string[];
  https: string[];
}

/** The rua of a domain's _smtp._tls TXT records; null when there is none or more than one (§3). */
export function parseTlsRptRecord(txts: readonly string[]): Rua | { error: string } | null {
  const own = txts.filter((t) => /^v=TLSRPTv1\s*(;|$)/.test(t));
  if (own.length === 0) return null;
  if (own.length > 1) return { error: 'more than one v=TLSRPTv1 record' };
  const rua = /(?:^|;)\s*rua=([^;]+)/.exec(own[0]!)?.[1];
  if (!rua) return { error: 'no rua' };
  const out: Rua = { mailto: [], https: [] };
  for (const uri of rua.split(',').map((u) => u.trim())) {
    const m = /^mailto:([^\s@?!]+@[^\s@?!]+)/i.exec(uri);
    if (m) out.mailto.push(decodeURIComponent(m[1]!));
    else if (/^https:\/\/\S+$/i.test(uri)) out.https.push(uri);
  }
  return out.mailto.length + out.https.length > 0 ? out : { error: `no usable rua URI in ${JSON.stringify(rua)}` };
}

export interface ReportFacts {
  organization: string;
  contact: string;
  submitter: string;
}

export interface Report {
  id: string;
  json: Record<string, unknown>;
  gzip: Buffer;
  filename: string;
  start: Date;
  end: Date;
}

/** The RFC 8460 §4.4 report of `domain` for the day of `record`. */
export function buildReport(record: DayRecord, domain: string, facts: ReportFacts): Report | null {
  const d = record.domains[domain];
  if (!d) return null;
  const start = new Date(`${record.day}T00:00:00Z`);
  const end = new Date(start.getTime() + 86_400_000 - 1000);
  const id = `${record.day}.${domain}.${randomBytes(4).toString('hex')}@${facts.submitter}`;
  const policy: Record<string, unknown> = { 'policy-type': d.policy.type, 'policy-domain': domain };
  if (d.policy.strings) policy['policy-string'] = d.policy.strings;
  if (d.policy.mxHost) policy['mx-host'] = d.policy.mxHost;
  const failed = d.failures.reduce((n, f) => n + f.count, 0);
  const json = {
    'organization-name': facts.organization,
    'date-range': { 'start-datetime': start.toISOString().replace('.000', ''), 'end-datetime': end.toISOString().replace('.000', '') },
    'contact-info': facts.contact,
    'report-id': id,
    policies: [{
      policy,
      summary: { 'total-successful-session-count': d.success, 'total-failure-session-count': failed },
      ...(d.failures.length > 0 ? {
        'failure-details': d.failures.map((f) => ({
          'result-type': f.type,
          ...(f.sendingIp ? { 'sending-mta-ip': f.sendingIp } : {}),
          ...(f.receivingMx ? { 'receiving-mx-hostname': f.receivingMx } : {}),
          ...(f.receivingIp ? { 'receiving-ip': f.receivingIp } : {}),
          'failed-session-count': f.count,
          ...(f.reason ? { 'failure-reason-code': f.reason } : {}),
        })),
      } : {}),
    }],
  };
  const gzip = gzipSync(JSON.stringify(json));
  const filename = `${facts.submitter}!${domain}!${start.getTime() / 1000}!${Math.floor(end.getTime() / 1000)}.json.gz`;
  return { id, json, gzip, filename, start, end };
}

/** The report as a message (RFC 8460 §5.3), CRLF line ends. */
export function reportMail(report: Report, domain: string, o: { from: string; to: string; submitter: string; now?: Date }): string {
  const boundary = `tlsrpt-${randomBytes(8).toString('hex')}`;
  const b64 = report.gzip.toString('base64').replace(/.{76}/g, '$&\r\n').replace(/\r\n$/, '');
  const day = report.start.toISOString().slice(0, 10);
  return [
    `From: <${o.from}>`,
    `To: <${o.to}>`,
    `Subject: Report Domain: ${domain} Submitter: ${o.submitter} Report-ID: <${report.id}>`,
    `Date: ${(o.now ?? new Date()).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${report.id}>`,
    `TLS-Report-Domain: ${domain}`,
    `TLS-Report-Submitter: ${o.submitter}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type="tlsrpt"; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `The TLS report (RFC 8460) of ${o.submitter} for mail to ${domain} on ${day} (UTC) is attached.`,
    '',
    `--${boundary}`,
    'Content-Type: application/tlsrpt+gzip',
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="${report.filename}"`,
    '',
    b64,
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
}
