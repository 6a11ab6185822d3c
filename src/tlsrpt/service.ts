// The TLS-RPT sender, an extension: after midnight UTC (checked hourly, and a minute after
// start) each recorded day not yet reported is sent to every domain of it that publishes a
// _smtp._tls record: by mail into the queue (from the null sender, so a report never bounces),
// or by HTTPS POST. What was sent is remembered in DATA/tlsrpt/sent.json; days older than 30 are
// removed. `yubin tlsrpt send` runs the same for one day.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context, Service } from '../context.ts';
import type { Spool } from '../spool/spool.ts';
import { writeFileDurable } from '../files/durable.ts';
import { resolverFromSettings } from '../dns/resolver.ts';
import { trustedRoots } from '../tls/trust.ts';
import { injectMail } from '../pickup/inject.ts';
import { dayOf, type TlsReportRecorder } from './recorder.ts';
import { buildReport, parseTlsRptRecord, reportMail } from './report.ts';

const CHECK_MS = 3600_000;
const FIRST_CHECK_MS = 60_000;
const KEEP_DAYS = 30;

export interface ReportDeps {
  ctx: Context;
  recorder: TlsReportRecorder;
  spool: Spool;
  /** Hand an injected message to the queue manager (Qmgr.enqueue; a no-op in the CLI, whose queue is rescanned). */
  enqueue: (id: string) => void;
  /** When the first check runs after start (a minute; tests shorten it). */
  firstCheckMs?: number;
}

export interface SentReport {
  domain: string;
  to: string;
  via: 'mail' | 'https';
  result: string;
}

async function sentDays(dir: string): Promise<Record<string, string[]>> {
  try {
    return JSON.parse(await readFile(join(dir, 'sent.json'), 'utf8')) as Record<string, string[]>;
  } catch {
    return {};
  }
}

function post(url: string, body: Buffer, roots: string[]): Promise<string> {
  const { request } = process.getBuiltinModule('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', ca: roots, timeout: 30_000, headers: { 'Content-Type': 'application/tlsrpt+gzip', 'Content-Length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => ((res.statusCode ?? 0) < 300 ? resolve(`HTTP ${res.statusCode}`) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Send the reports of `day` to every domain of it that asks; returns what went where. */
export async function sendReports(deps: ReportDeps, day: string): Promise<SentReport[]> {
  const { ctx, recorder } = deps;
  const s = ctx.store.settings;
  const record = await recorder.read(day);
  if (!record) return [];
  const sent = await sentDays(recorder.dir);
  const done = new Set(sent[day] ?? []);
  const submitter = s.hostname;
  const from = s['tlsrpt.from'] || `postmaster@${s.domains[0] ?? s.hostname}`;
  const out: SentReport[] = [];
  for (const domain of Object.keys(record.domains)) {
    if (done.has(domain)) continue;
    let rua;
    try {
      rua = parseTlsRptRecord((await resolverFromSettings(ctx.store).resolveTxt(`_smtp._tls.${domain}`)).map((p) => p.join('')));
    } catch {
      rua = null; // no record (or no answer): nothing is asked for
    }
    if (!rua || 'error' in rua) {
      if (rua) ctx.log.log('warn', 'tlsrpt: unusable _smtp._tls record; no report', { domain, error: rua.error });
      done.add(domain);
      continue;
    }
    const report = buildReport(record, domain, { organization: submitter, contact: from, submitter })!;
    for (const to of rua.mailto) {
      const id = await injectMail({ ctx, spool: deps.spool, enqueue: deps.enqueue }, { from: '', to: [to], content: [reportMail(report, domain, { from, to, submitter })] });
      out.push({ domain, to, via: 'mail', result: id ? `queued as ${id}` : 'no route' });
    }
    for (const url of rua.https) {
      const result = await post(url, report.gzip, trustedRoots(s['tls.extraRoots'])).catch((err: Error) => `failed: ${err.message}`);
      out.push({ domain, to: url, via: 'https', result });
    }
    ctx.log.log('info', 'tlsrpt: report sent', { day, domain, reportId: report.id, to: [...rua.mailto, ...rua.https] });
    done.add(domain);
  }
  sent[day] = [...done];
  for (const d of Object.keys(sent)) if (d < dayOf(Date.now() - KEEP_DAYS * 86_400_000)) delete sent[d];
  await writeFileDurable(join(recorder.dir, 'sent.json'), JSON.stringify(sent, null, 1) + '\n', 0o600);
  return out;
}

export function createTlsReportService(deps: ReportDeps): Service & { readonly restartOn: readonly ['tlsrpt.enabled'] } {
  const { ctx, recorder } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;

  async function check(): Promise<void> {
    const today = dayOf(Date.now());
    const sent = await sentDays(recorder.dir);
    for (const day of await recorder.recordedDays()) {
      if (day < dayOf(Date.now() - KEEP_DAYS * 86_400_000)) {
        await rm(join(recorder.dir, `${day}.json`), { force: true });
        continue;
      }
      if (day >= today || sent[day]) continue;
      await sendReports(deps, day);
    }
  }

  const arm = (ms: number) => {
    timer = setTimeout(() => {
      running = check().catch((err: Error) => ctx.log.log('error', 'tlsrpt: sending reports failed; tried again in an hour', { error: err.message })).finally(() => {
        running = null;
        arm(CHECK_MS);
      });
    }, ms);
    timer.unref();
  };

  return {
    name: 'tlsrpt',
    restartOn: ['tlsrpt.enabled'],
    async start() {
      if (ctx.store.get('tlsrpt.enabled')) arm(deps.firstCheckMs ?? FIRST_CHECK_MS);
    },
    async stop() {
      clearTimeout(timer);
      await running;
      await recorder.flush();
    },
  };
}
