// An aggregate report (RFC 9990 §2): the day's rows of one policy domain counted together by
// (source address, disposition, DMARC results, identifiers, authentication results), as the
// XML of the urn:ietf:params:xml:ns:dmarc-2.0 schema (RFC 9990 Appendix A).
import type { DmarcEvaluated } from '../events/bus.ts';
import { escapeXml as x } from './xml.ts';

export interface ReportMeta {
  orgName: string;
  email: string;
  reportId: string;
  /** Seconds since the epoch, the UTC day's first and last second. */
  begin: number;
  end: number;
  generator: string;
}

interface Counted {
  row: DmarcEvaluated;
  count: number;
}

const keyOf = (r: DmarcEvaluated): string => JSON.stringify([r.sourceIp, r.disposition, r.dkimAligned, r.spfAligned, r.headerFrom, r.envelopeFrom, r.envelopeTo, r.dkim, r.spf]);

/** Rows counted by everything a report record carries, most messages first. */
export function countRows(rows: readonly DmarcEvaluated[]): Counted[] {
  const out = new Map<string, Counted>();
  for (const row of rows) {
    const key = keyOf(row);
    const c = out.get(key);
    if (c) c.count += 1;
    else out.set(key, { row, count: 1 });
  }
  return [...out.values()].sort((a, b) => b.count - a.count);
}

const el = (name: string, value: string | number | undefined, indent: string): string[] => (value === undefined || value === '' ? [] : [`${indent}<${name}>${x(value)}</${name}>`]);

/** The XML text; `error` goes into report_metadata (e.g. rows left out to keep the size). */
export function reportXml(policyDomain: string, counted: readonly Counted[], meta: ReportMeta, error?: string): string {
  const published = counted[0]?.row.published;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">',
    '  <version>1.0</version>',
    '  <report_metadata>',
    ...el('org_name', meta.orgName, '    '),
    ...el('email', meta.email, '    '),
    ...el('report_id', meta.reportId, '    '),
    '    <date_range>',
    `      <begin>${meta.begin}</begin>`,
    `      <end>${meta.end}</end>`,
    '    </date_range>',
    ...el('error', error, '    '),
    ...el('generator', meta.generator, '    '),
    '  </report_metadata>',
    '  <policy_published>',
    ...el('domain', policyDomain, '    '),
    ...el('p', published?.p ?? 'none', '    '),
    ...el('sp', published?.sp, '    '),
    ...el('np', published?.np, '    '),
    ...el('adkim', published?.adkim, '    '),
    ...el('aspf', published?.aspf, '    '),
    // mailauth finds the record by the RFC 9989 DNS tree walk, not a public suffix list.
    '    <discovery_method>treewalk</discovery_method>',
    ...el('fo', published?.fo, '    '),
    ...el('testing', published?.testing, '    '),
    '  </policy_published>',
  ];
  for (const { row, count } of counted) {
    lines.push(
      '  <record>',
      '    <row>',
      `      <source_ip>${x(row.sourceIp)}</source_ip>`,
      `      <count>${count}</count>`,
      '      <policy_evaluated>',
      `        <disposition>${row.disposition}</disposition>`,
      `        <dkim>${row.dkimAligned ? 'pass' : 'fail'}</dkim>`,
      `        <spf>${row.spfAligned ? 'pass' : 'fail'}</spf>`,
      ...(row.published.testing === 'y' && row.disposition !== 'pass' ? ['        <reason>', '          <type>policy_test_mode</type>', '        </reason>'] : []),
      '      </policy_evaluated>',
      '    </row>',
      '    <identifiers>',
      ...el('header_from', row.headerFrom, '      '),
      ...el('envelope_from', row.envelopeFrom, '      '),
      ...el('envelope_to', row.envelopeTo, '      '),
      '    </identifiers>',
      '    <auth_results>',
      ...row.dkim.flatMap((d) => ['      <dkim>', ...el('domain', d.domain, '        '), `        <selector>${x(d.selector || 'none')}</selector>`, `        <result>${dkimResult(d.result)}</result>`, '      </dkim>']),
      ...(row.spf ? ['      <spf>', ...el('domain', row.spf.domain, '        '), '        <scope>mfrom</scope>', `        <result>${spfResult(row.spf.result)}</result>`, '      </spf>'] : []),
      '    </auth_results>',
      '  </record>',
    );
  }
  lines.push('</feedback>', '');
  return lines.join('\n');
}

const DKIM_RESULTS = new Set(['none', 'pass', 'fail', 'policy', 'neutral', 'temperror', 'permerror']);
const SPF_RESULTS = new Set(['none', 'pass', 'fail', 'softfail', 'policy', 'neutral', 'temperror', 'permerror']);
const dkimResult = (r: string) => (DKIM_RESULTS.has(r) ? r : 'permerror');
const spfResult = (r: string) => (SPF_RESULTS.has(r) ? r : 'permerror');
