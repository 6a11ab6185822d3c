// The DMARC report sender, an extension: it records each dmarc.evaluated row, and once an hour
// (after dmarcreport.hour UTC) sends every finished day's reports and marks the day sent. A day
// whose reports could not be queued stays unsent and is tried again at the next round.
import type { Context, Service } from '../context.ts';
import { resolverFromSettings } from '../dns/resolver.ts';
import { injectMail, type InjectDeps } from '../pickup/inject.ts';
import { RowStore, utcDay } from './rows.ts';
import { allowedDestinations, buildReports, reporter } from './send.ts';

export interface DmarcReportService extends Service {
  /** Send the finished days' reports now; returns how many reports were queued. */
  sendDue(now?: number): Promise<number>;
}

export function createDmarcReportService(ctx: Context, deps: Omit<InjectDeps, 'ctx'>, options: { version: string; roundMs?: number } = { version: 'dev' }): DmarcReportService {
  const rows = new RowStore(ctx.dataDir);
  let detach: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<number> | undefined;

  async function sendDay(day: string): Promise<number> {
    const s = ctx.store.settings;
    const { from, orgName } = reporter(ctx);
    const reports = buildReports(day, await rows.read(day), { hostname: s.hostname, orgName, from, maxBytes: s['dmarcreport.maxBytes'], version: options.version });
    let queued = 0;
    for (const r of reports) {
      const to = await allowedDestinations(r.policyDomain, r.rua, resolverFromSettings(ctx.store));
      if (to.length === 0) {
        ctx.log.log('info', 'DMARC report not sent: no rua address may receive it', { domain: r.policyDomain, rua: r.rua });
        continue;
      }
      const id = await injectMail({ ctx, ...deps }, { from, to, content: [r.message.replace('To: dmarc-reports', `To: ${to.join(', ')}`)] });
      if (id) queued += 1;
      ctx.log.log('info', 'DMARC aggregate report queued', { domain: r.policyDomain, day, to, bytes: r.gzip.length, omitted: r.omitted, queueId: id });
    }
    await rows.markSent(day);
    return queued;
  }

  async function sendDue(now = Date.now()): Promise<number> {
    sending ??= (async () => {
      let n = 0;
      for (const day of await rows.unsentBefore(utcDay(now))) n += await sendDay(day);
      return n;
    })().finally(() => { sending = undefined; });
    return sending;
  }

  return {
    name: 'dmarc-reports',
    async start() {
      detach = ctx.bus.on('dmarc.evaluated', async (row) => {
        if (!ctx.store.get('dmarcreport.send')) return;
        if (!(await rows.append(row, ctx.store.get('dmarcreport.maxRows')))) ctx.log.log('debug', 'DMARC rows of the day full', { day: utcDay(row.at) });
      });
      const round = () => {
        if (ctx.store.get('dmarcreport.send') && new Date().getUTCHours() >= ctx.store.get('dmarcreport.hour')) {
          sendDue().catch((err: Error) => ctx.log.log('warn', 'DMARC reports not sent', { error: err.message }));
        }
      };
      timer = setInterval(round, options.roundMs ?? 3_600_000);
      timer.unref();
    },
    async stop() {
      detach?.();
      clearInterval(timer);
      await sending?.catch(() => undefined);
    },
    sendDue,
  };
}
