// Aggregate reports that arrive about the local domains (RFC 9990): a record-phase stage finds the
// report attached to an inbound message (gzip, zip or plain XML), reads it with the bounded XML
// reader, and adds it to a per-domain summary in DATA/dmarc/received/<domain>.json: how much mail
// claiming the domain was seen, how much failed DMARC, and from which addresses. Mail is never held
// up or refused for this: a report that cannot be read is left to the mailbox it was sent to.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import type { Transform } from 'node:stream';
import type { Context } from '../context.ts';
import type { Stage } from '../pipeline/stage.ts';
import { newSplitter, type MimeNode, type SplitItem } from '../mime/mime.ts';
import { mimeLimits } from '../inspect/limits.ts';
import { writeFileDurable } from '../files/durable.ts';
import { child, children, parseXml, textOf, XmlError } from './xml.ts';

/** Largest report message looked at, attachment read, and XML after decompression. */
const MAX_MESSAGE = 10 * 1024 * 1024;
const MAX_PART = 5 * 1024 * 1024;
// A report of 2,000 sources is ~1 MiB of XML and ~40,000 elements; a small office's are a few KiB.
const MAX_XML = 4 * 1024 * 1024;
const MAX_ELEMENTS = 50_000;
const MAX_SOURCES = 200;
const MAX_IDS = 500;

export interface ReceivedRecord {
  sourceIp: string;
  count: number;
  disposition: string;
  dkim: string;
  spf: string;
  headerFrom: string;
}

export interface ReceivedReport {
  reporter: string;
  reportId: string;
  domain: string;
  policy: string;
  begin: number;
  end: number;
  records: ReceivedRecord[];
}

/** One report's XML read into its facts; throws XmlError naming what is wrong. */
export function readReport(xmlText: string): ReceivedReport {
  const root = parseXml(xmlText, MAX_XML, MAX_ELEMENTS);
  if (root.name !== 'feedback') throw new XmlError(`root element is <${root.name}>, not <feedback>`);
  const meta = child(root, 'report_metadata');
  const policy = child(root, 'policy_published');
  const range = child(meta, 'date_range');
  const domain = textOf(policy, 'domain').toLowerCase().replace(/\.$/, '');
  if (!meta || !policy || !domain) throw new XmlError('report_metadata or policy_published/domain missing');
  const records = children(root, 'record').map((r) => {
    const row = child(r, 'row');
    const evaluated = child(row, 'policy_evaluated');
    const count = Number(textOf(row, 'count'));
    if (!Number.isSafeInteger(count) || count < 0) throw new XmlError(`bad count "${textOf(row, 'count')}"`);
    return {
      sourceIp: textOf(row, 'source_ip'),
      count,
      disposition: textOf(evaluated, 'disposition'),
      dkim: textOf(evaluated, 'dkim'),
      spf: textOf(evaluated, 'spf'),
      headerFrom: textOf(child(r, 'identifiers'), 'header_from').toLowerCase(),
    };
  });
  return {
    reporter: textOf(meta, 'org_name') || textOf(meta, 'email'),
    reportId: textOf(meta, 'report_id'),
    domain,
    policy: textOf(policy, 'p'),
    begin: Number(textOf(range, 'begin')) || 0,
    end: Number(textOf(range, 'end')) || 0,
    records,
  };
}

const REPORT_TYPES = /^(application\/(gzip|x-gzip|zip|x-zip|x-zip-compressed|xml|octet-stream)|text\/xml)$/;
const REPORT_NAMES = /\.(xml|xml\.gz|gz|zip)$/i;

/** The report attachments of a message file, decoded (bounded). */
export async function attachments(path: string, ctx: Pick<Context, 'store'>): Promise<Buffer[]> {
  const splitter = newSplitter(mimeLimits(ctx.store));
  const feeding = pipeline(createReadStream(path), splitter);
  feeding.catch(() => undefined);
  const found: Buffer[] = [];
  const ended: Promise<void>[] = [];
  let current: { node: MimeNode; decoder: Transform; chunks: Buffer[]; size: number } | null = null;
  const close = () => {
    if (!current) return;
    const c = current;
    current = null;
    c.decoder.end();
  };
  for await (const item of splitter as AsyncIterable<SplitItem>) {
    if (item.type === 'node') {
      close();
      if (item.multipart) continue;
      const type = (item.contentType || '').toLowerCase();
      if (!REPORT_TYPES.test(type) && !REPORT_NAMES.test(item.filename || '')) continue;
      const decoder = item.getDecoder();
      const entry = { node: item, decoder, chunks: [] as Buffer[], size: 0 };
      decoder.on('data', (d: Buffer) => {
        entry.size += d.length;
        if (entry.size <= MAX_PART) entry.chunks.push(d);
      });
      ended.push(new Promise<void>((resolve) => {
        decoder.on('end', () => { if (entry.size <= MAX_PART) found.push(Buffer.concat(entry.chunks)); resolve(); });
        decoder.on('error', () => resolve());
      }));
      current = entry;
    } else if (item.type === 'body' && current && item.node === current.node) {
      current.decoder.write(item.value);
    }
  }
  close();
  await feeding;
  await Promise.all(ended);
  return found;
}

/** The XML inside one attachment: gunzipped, unzipped (the first .xml entry) or as it is. */
export async function xmlOf(bytes: Buffer): Promise<string | null> {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes, { maxOutputLength: MAX_XML }).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new XmlError(`gzip unpacks to more than ${MAX_XML} bytes`);
      throw err;
    }
  }
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
    const { default: yauzl } = await import('yauzl');
    return new Promise((resolve, reject) => {
      yauzl.fromBuffer(bytes, { lazyEntries: true }, (err, zip) => {
        if (err || !zip) return reject(err ?? new Error('not a zip'));
        zip.on('entry', (entry: { fileName: string; uncompressedSize: number }) => {
          if (!/\.xml$/i.test(entry.fileName) || entry.uncompressedSize > MAX_XML) return zip.readEntry();
          zip.openReadStream(entry as never, (e, stream) => {
            if (e || !stream) return reject(e);
            const chunks: Buffer[] = [];
            stream.on('data', (d: Buffer) => chunks.push(d));
            stream.on('end', () => { zip.close(); resolve(Buffer.concat(chunks).toString('utf8')); });
            stream.on('error', reject);
          });
        });
        zip.on('end', () => resolve(null));
        zip.on('error', reject);
        zip.readEntry();
      });
    });
  }
  const text = bytes.toString('utf8');
  return /<feedback[\s>]/.test(text) ? text : null;
}

export interface DomainSummary {
  domain: string;
  reports: number;
  /** Messages the reports counted, and how many of them failed DMARC (neither aligned DKIM nor SPF). */
  messages: number;
  failed: number;
  quarantined: number;
  rejected: number;
  /** Seconds since the epoch: the earliest begin and latest end reported. */
  since: number;
  until: number;
  reporters: Record<string, number>;
  /** Addresses that sent mail claiming the domain: messages and failures each. */
  sources: Record<string, { messages: number; failed: number }>;
  reportIds: string[];
}

export const receivedDir = (dataDir: string) => join(dataDir, 'dmarc', 'received');
const fileOf = (dataDir: string, domain: string) => join(receivedDir(dataDir), `${domain}.json`);

export async function loadSummary(dataDir: string, domain: string): Promise<DomainSummary | null> {
  try {
    return JSON.parse(await readFile(fileOf(dataDir, domain), 'utf8')) as DomainSummary;
  } catch {
    return null;
  }
}

/** Add one report to its domain's summary; false when that report was counted already. */
export function addReport(summary: DomainSummary | null, r: ReceivedReport): DomainSummary | null {
  const s: DomainSummary = summary ?? { domain: r.domain, reports: 0, messages: 0, failed: 0, quarantined: 0, rejected: 0, since: r.begin, until: r.end, reporters: {}, sources: {}, reportIds: [] };
  const id = `${r.reporter}\u0000${r.reportId}`;
  if (s.reportIds.includes(id)) return null;
  s.reportIds = [...s.reportIds, id].slice(-MAX_IDS);
  s.reports += 1;
  s.since = Math.min(s.since, r.begin);
  s.until = Math.max(s.until, r.end);
  s.reporters[r.reporter] = (s.reporters[r.reporter] ?? 0) + 1;
  for (const rec of r.records) {
    const failed = rec.dkim !== 'pass' && rec.spf !== 'pass';
    s.messages += rec.count;
    if (failed) s.failed += rec.count;
    if (rec.disposition === 'quarantine') s.quarantined += rec.count;
    if (rec.disposition === 'reject') s.rejected += rec.count;
    const src = s.sources[rec.sourceIp] ?? { messages: 0, failed: 0 };
    src.messages += rec.count;
    if (failed) src.failed += rec.count;
    s.sources[rec.sourceIp] = src;
  }
  // Keep the addresses that matter: most failures, then most messages.
  const kept = Object.entries(s.sources).sort(([, a], [, b]) => b.failed - a.failed || b.messages - a.messages).slice(0, MAX_SOURCES);
  s.sources = Object.fromEntries(kept);
  return s;
}

let chain: Promise<unknown> = Promise.resolve();

export const dmarcInboundStage: Stage = async (message, context) => {
  const { store } = context;
  if (message.direction !== 'inbound' || !store.get('dmarcreport.readIncoming') || message.size > MAX_MESSAGE) return { action: 'accept' };
  try {
    const ours = new Set(store.get('domains'));
    const parts = await attachments(message.path, context);
    if (parts.length === 0) return { action: 'accept' };
    // One report is unpacked and parsed at a time, whatever the number of sessions: strangers send
    // these, and each costs up to MAX_XML and its elements while it is read.
    const run = chain.then(async () => {
      for (const bytes of parts) {
        let report: ReceivedReport;
        try {
          const text = await xmlOf(bytes);
          if (!text) continue;
          report = readReport(text);
        } catch (err) {
          context.log.log('debug', 'not a readable DMARC report', { queueId: message.queueId, error: (err as Error).message });
          continue;
        }
        if (!ours.has(report.domain)) continue;
        const next = addReport(await loadSummary(context.dataDir, report.domain), report);
        if (!next) continue;
        await writeFileDurable(fileOf(context.dataDir, report.domain), JSON.stringify(next, null, 1) + '\n');
        context.log.log('info', 'DMARC aggregate report read', { queueId: message.queueId, domain: report.domain, reporter: report.reporter, records: report.records.length });
        context.bus.emit('dmarc.report', { domain: report.domain, reporter: report.reporter, messages: next.messages, failed: next.failed });
      }
    });
    chain = run.catch(() => undefined);
    await run;
  } catch (err) {
    context.log.log('debug', 'not a readable DMARC report', { queueId: message.queueId, error: (err as Error).message });
  }
  return { action: 'accept' };
};

/** `show dmarc`: one block per domain that has reports. */
export async function formatSummaries(dataDir: string, domains: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const domain of domains) {
    const s = await loadSummary(dataDir, domain);
    if (!s) continue;
    const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);
    lines.push(`${domain}: ${s.reports} report${s.reports === 1 ? '' : 's'} from ${Object.keys(s.reporters).sort().join(', ')} (${day(s.since)} to ${day(s.until)})`);
    lines.push(`  ${s.messages} messages claimed ${domain}; ${s.failed} failed DMARC (${s.quarantined} quarantined, ${s.rejected} rejected by the receivers)`);
    const failing = Object.entries(s.sources).filter(([, v]) => v.failed > 0).slice(0, 10);
    for (const [ip, v] of failing) lines.push(`  failing from ${ip}: ${v.failed} of ${v.messages}`);
  }
  return lines.length === 0 ? 'no DMARC aggregate reports received yet\n' : lines.join('\n') + '\n';
}
