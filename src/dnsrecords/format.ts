// The wizard's text: per domain, each record with its verdict, the reason, and the exact line that
// fixes it; or, without a check, simply what to publish.
import { shortId, zoneLine, type WantedRecord } from './records.ts';
import type { DnsReport, RecordVerdict } from './check.ts';

const LABEL: Record<RecordVerdict['status'], string> = { ok: 'ok', missing: 'MISSING', wrong: 'WRONG', warning: 'warning', unknown: 'UNKNOWN' };

function groups<T extends { record: WantedRecord }>(items: readonly T[], hostname: string): Array<[string, T[]]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const title = item.record.domain === '' ? `the board (${hostname})` : item.record.domain;
    out.set(title, [...(out.get(title) ?? []), item]);
  }
  return [...out];
}

/** What to publish, zone-file lines only (`yubin dns --offline`). */
export function formatWanted(wanted: readonly WantedRecord[], hostname: string): string {
  const lines: string[] = [];
  for (const [title, items] of groups(wanted.map((record) => ({ record })), hostname)) {
    lines.push(`; ${title}`);
    for (const { record } of items) {
      lines.push(record.value === '' ? `; ${record.id}: ${record.why}` : `${record.kind === 'ptr' ? '; at your ISP: ' : ''}${zoneLine(record)}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** The checked list: one line per record, with what to do for each that is not ok. */
export function formatReport(report: DnsReport): string {
  const lines: string[] = [];
  for (const [title, items] of groups(report.records, report.hostname)) {
    lines.push(title);
    for (const v of items) {
      lines.push(`  ${LABEL[v.status].padEnd(8)} ${shortId(v.record)}: ${v.reason}`);
      if (v.status !== 'ok' && v.fix) lines.push(`           ${v.fix}`);
    }
  }
  if (report.listings.length > 0) {
    lines.push('block lists');
    for (const l of report.listings) lines.push(`  ${LABEL[l.status].padEnd(8)} ${l.address} on ${l.zone}: ${l.reason}`);
  }
  for (const r of report.readiness) {
    lines.push(`big mailbox providers (Gmail, Yahoo, Microsoft) for ${r.domain}: ${r.ready ? 'ready' : `not ready, needs ${r.missing.join(', ')}`}`);
  }
  const bad = report.records.filter((v) => v.status === 'missing' || v.status === 'wrong').length + report.listings.filter((l) => l.status === 'wrong').length;
  lines.push(bad === 0 ? `all records ok (checked ${report.checkedAt})` : `${bad} to fix (checked ${report.checkedAt})`);
  return lines.join('\n') + '\n';
}
