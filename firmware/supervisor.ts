// The firmware's wiring, read top to bottom: the context; the watchers that count what happens
// (alerts, metrics); the mail core (spool → queue manager → delivery agents, listeners last); the
// extensions (LEDs, MQTT, firewall, health checks, quarantine sweeps, console). Mail is the core:
// if a mail station cannot start, the firmware does not start. An extension may fail alone
// (firmware/extensions.ts): it is reported down and retried while mail goes on. Stopping runs the
// other way round, listeners first, so every client is told at once.
//
// Each builder is exported, so tests compose the firmware the way the firmware composes itself.
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigStore } from '../src/config/store.ts';
import { tightenSecretsDir } from '../src/config/secrets-dir.ts';
import { VERSIONS_DIR, configRollbackText } from '../src/config/migrations.ts';
import { LoginThrottle } from '../src/anvil/login-throttle.ts';
import { type Context, type Service } from '../src/context.ts';
import type { Logger } from '../src/log/logger.ts';
import { firmwareLogger, type FirmwareLog } from './logging.ts';
import { createContext } from './context.ts';
import { Spool } from '../src/spool/spool.ts';
import type { Qmgr } from '../src/qmgr/qmgr.ts';
import { createQueueStation, tlsReportRecorder } from './queue-station.ts';
import type { TlsReportRecorder } from '../src/tlsrpt/recorder.ts';
import { createTlsReportService } from '../src/tlsrpt/service.ts';
import { createSmtpService, type SmtpService } from '../src/smtpd/server.ts';
import type { TlsFiles } from '../src/tls/certificate.ts';
import { CertificateStore, servingCertificate } from '../src/tls/store.ts';
import { stages } from './stages.ts';
import { createPipeline } from '../src/pipeline/run.ts';
import { createPop3Service, type Pop3Service } from '../src/pop3d/server.ts';
import { quarantineHook } from '../src/quarantine/store.ts';
import { quarantineExpiryService } from '../src/quarantine/service.ts';
import { createAlertEngine, type AlertEngine } from '../src/alerts/engine.ts';
import { createHealthWatch } from '../src/alerts/health.ts';
import { createMetrics, type Metrics } from '../src/telemetry/metrics.ts';
import { createMailLog, type MailLog } from '../src/maillog/service.ts';
import { createMqttService, type MqttService } from '../src/telemetry/mqtt.ts';
import { formatStatus } from '../src/telemetry/status.ts';
import { createLedService } from '../board/gpio/leds.ts';
import { createFirewallService, type FirewallService, type FirewallOptions } from '../board/firewall/service.ts';
import { createConsoleService } from './console/service.ts';
import { createControlService } from './control-socket.ts';
import { senderAuthChecks } from './checks.ts';
import { formatQueue, QueueAdmin } from '../src/qmgr/admin.ts';
import { createHoldService, type HoldService } from '../src/hold/service.ts';
import { Extensions, formatExtensions, type Backoff } from './extensions.ts';
import { upgradeStatusService } from './lifecycle/upgrade.ts';
import { backupScheduleService } from '../src/backup/schedule.ts';
import { createDnsWatch } from '../src/dnsrecords/watch.ts';
import { applyTimeZone } from '../board/system/timezone.ts';
import { createDmarcReportService } from '../src/dmarcreport/service.ts';
import { createWebService, type WebService } from '../src/web/service.ts';
import { createAcmeService, type AcmeService } from '../src/acme/service.ts';
import { attachPolicyRoute } from '../src/mtasts/inbound.ts';
import { autoconfigRoute } from '../src/autoconfig/routes.ts';
import { formatTransportStatus } from '../src/acme/status.ts';
import type { CommandHooks } from './commands/types.ts';
import { restoreFromSetup } from './commands/backup.ts';

export interface FirmwareOptions {
  dataDir: string;
  configFile?: string;
  /** Bind every listener on a free port (tests); the ready line reports them. */
  ephemeralPorts?: boolean;
  /** Run the admin console (serial port, or stdio when console.device is empty). Off for in-process tests. */
  console?: boolean;
  /** Called once the mail services are up, before the console starts (the ready line goes here,
   * so it never shares a line with the console's prompt). */
  onReady?: (ports: Record<string, number>) => void;
  /** What the console's `restart` does (yubin start restarts the firmware in place). */
  restart?: () => void;
  /** What the console's `shutdown` and `reboot` do (yubin start stops, or asks systemd). */
  shutdown?: CommandHooks['shutdown'];
  /** What `factory-reset` does once the reset is requested (yubin start restarts, or reboots the board). */
  reset?: CommandHooks['reset'];
  /** How often scheduled backups look whether one is due (tests shorten it; default a minute). */
  backupLookMs?: number;
  /** Retry timing of failed extensions (tests shorten it). */
  backoff?: Backoff;
  /** How the firewall runs nft (a test's router namespace: ['ip', 'netns', 'exec', NS, 'nft']). */
  firewall?: FirewallOptions;
  log?: Logger;
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

// --- the context --------------------------------------------------------------------------------

/** The log files the firmware opened for a context (closed when it stops). */
const openLogs = new WeakMap<Context, FirmwareLog>();

/** Config store, users, bus and log; config.changed carries the keys whoever committed them, and a
 * config file that cannot be used is logged and alerted while the running settings stay. Without
 * a logger of the caller's, the firmware's: stderr (journald) and DATA/log/yubin.log (firmware/logging.ts). */
export async function openContext(options: Pick<FirmwareOptions, 'dataDir' | 'configFile' | 'log'>): Promise<Context> {
  const dataDir = resolve(options.dataDir);
  const store = await ConfigStore.open(dataDir, options.configFile ? resolve(options.configFile) : undefined);
  const own = options.log ? undefined : firmwareLogger(store, dataDir);
  const ctx = createContext(dataDir, store, options.log ?? own!.log);
  if (own) openLogs.set(ctx, own);
  logMigrations(ctx);
  applyTimeZone(store.get('system.timeZone'));
  store.onChange((keys) => { if (keys.includes('system.timeZone')) applyTimeZone(store.get('system.timeZone')); });
  const wasMode = await tightenSecretsDir(dataDir);
  if (wasMode !== undefined) ctx.log.log('warn', 'DATA/secrets was not private: made it 0700', { was: `0${wasMode.toString(8)}` });
  store.watch((err) => {
    ctx.log.log('error', 'config file changed but cannot be used; the running settings stay', { file: store.file, error: err.message });
    ctx.bus.emit('config.rejected', { file: store.file, error: err.message });
  });
  return ctx;
}

/** What migrating config.json did at open, in the log (the file records it too: db.migrations). */
function logMigrations(ctx: Context): void {
  for (const outcome of ctx.store.migrations) {
    for (const m of outcome.migrated) ctx.log.log('info', 'config.json migrated', { from: m.from, to: m.to, change: m.what, kept: `${VERSIONS_DIR}/config.v${m.from}.json` });
    if (outcome.rolledBack) ctx.log.log('warn', configRollbackText(outcome.rolledBack));
  }
}

/** The log file stays usable for lines written while stopping; it is closed with the store. */
function closeLog(ctx: Context): void {
  openLogs.get(ctx)?.close();
  openLogs.delete(ctx);
}

// --- watchers: they see everything the mail stations and extensions do ---------------------------

export interface Watchers {
  alerts: AlertEngine & Service;
  metrics: Metrics;
  /** Delivery lines and the message trace's index (src/maillog/). */
  maillog: MailLog;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createWatchers(ctx: Context): Watchers {
  const alerts = createAlertEngine({ ...ctx, bus: ctx.bus.for('alerts') });
  const metrics = createMetrics({ ...ctx, bus: ctx.bus.for('metrics') });
  const maillog = createMailLog({ ...ctx, bus: ctx.bus.for('maillog') });
  return {
    alerts,
    metrics,
    maillog,
    async start() {
      await maillog.start();
      await alerts.start();
      await metrics.start();
    },
    async stop() {
      await metrics.stop();
      await alerts.stop();
      await maillog.stop();
    },
  };
}

// --- the mail core: spool → queue manager → delivery agents; listeners last ----------------------

export interface MailStations {
  /** The certificate every TLS listener serves right now (a live view of `certificates`). */
  tls: TlsFiles;
  /** Where a new certificate (ACME) is put so every listener serves it from the next handshake. */
  certificates: CertificateStore;
  /** Outbound TLS outcomes per domain and day, for the TLS-RPT reports. */
  recorder: TlsReportRecorder;
  spool: Spool;
  qmgr: Qmgr;
  hold: HoldService;
  smtp: SmtpService;
  pop3: Pop3Service;
  /** One brake on password guessing for SMTP AUTH, POP3 and the console (src/anvil/). */
  throttle: LoginThrottle;
  ports(): Record<string, number>;
  start(): Promise<void>;
  /** Listeners close and tell their sessions at once (DATA gets smtp.shutdownGrace); then the queue. */
  stop(): Promise<void>;
}

export async function createMailStations(ctx: Context, options: Pick<FirmwareOptions, 'ephemeralPorts'> = {}): Promise<MailStations> {
  const { store } = ctx;
  const serving = await servingCertificate(ctx.dataDir, store.get('tls.cert'), store.get('tls.key'), store.get('hostname'));
  const certificates = new CertificateStore(serving.files, serving.source);
  if (serving.source !== 'self-signed') ctx.log.log('info', 'serving certificate', { source: serving.source, names: certificates.current.names, notAfter: certificates.current.notAfter.toISOString() });
  // Listeners read key and cert when they start; a later certificate reaches them through `certificates`.
  const tls: TlsFiles = {
    get key() {
      return certificates.current.key;
    },
    get cert() {
      return certificates.current.cert;
    },
  };
  const spool = new Spool(ctx.dataDir);
  const recorder = tlsReportRecorder(ctx);
  const qmgr = createQueueStation(ctx, spool, { recorder });
  const hold = createHoldService({ ctx, spool, qmgr });
  const throttle = new LoginThrottle();
  const smtp = createSmtpService(ctx, {
    tls,
    certificates,
    throttle,
    spool,
    pipeline: createPipeline(stages, quarantineHook(ctx)),
    hold,
    holdUntil: (entry) => hold.holdUntil(entry),
    queued: (entry) => {
      qmgr.enqueue(entry.id, entry.holdUntil, true);
      void hold.queued(entry);
    },
    ephemeralPorts: options.ephemeralPorts ?? false,
  });
  const pop3 = createPop3Service(ctx, { tls, certificates, throttle, ephemeralPorts: options.ephemeralPorts ?? false });
  const started: Service[] = [];
  return {
    tls,
    certificates,
    recorder,
    spool,
    qmgr,
    hold,
    smtp,
    pop3,
    throttle,
    ports() {
      const p = smtp.ports();
      const q = pop3.ports();
      const out: Record<string, number> = {};
      if (p.mta) out.smtp = p.mta;
      if (p.submission) out.submission = p.submission;
      if (p.smtps) out.smtps = p.smtps;
      if (q.pop3) out.pop3 = q.pop3;
      if (q.pop3s) out.pop3s = q.pop3s;
      return out;
    },
    async start() {
      try {
        for (const service of [qmgr, smtp, pop3]) {
          await service.start();
          started.push(service);
        }
      } catch (err) {
        for (const service of started.splice(0).reverse()) await service.stop().catch(() => undefined);
        throw err;
      }
    },
    async stop() {
      const listeners = started.filter((s) => s !== qmgr);
      await Promise.all(listeners.map((s) => s.stop().catch((err: Error) => ctx.log.log('warn', 'stop failed', { service: s.name, error: err.message }))));
      // Deliveries in flight get the same grace; one cut off stays queued and is tried again later.
      if (started.includes(qmgr)) await Promise.race([qmgr.stop(), sleep(store.get('smtp.shutdownGrace') * 1000, undefined, { ref: false })]);
      started.length = 0;
    },
  };
}

// --- extensions: everything else, each allowed to fail alone -------------------------------------

export interface Addons {
  extensions: Extensions;
  mqtt: MqttService;
  firewall: FirewallService;
  /** The web listener (ACME HTTP-01, MTA-STS policy): open only while a route needs it. */
  web: WebService;
  acme: AcmeService;
  /** What the console's commands borrow from the running firmware. */
  hooks: CommandHooks;
}

export function createExtensions(ctx: Context, watchers: Watchers, mail: MailStations, options: Pick<FirmwareOptions, 'restart' | 'shutdown' | 'reset' | 'backoff' | 'backupLookMs' | 'firewall' | 'ephemeralPorts'> = {}): Addons {
  const { alerts, metrics } = watchers;
  const extensions = new Extensions(ctx, options.backoff ? { backoff: options.backoff } : {});
  metrics.setQueueDepthSource(() => mail.qmgr.depth());
  extensions.add('leds', (c) => Object.assign(createLedService(c, alerts), { restartOn: ['board.leds', 'board.profile', 'board.gpioRoot'] as const }));
  const mqtt = extensions.add('mqtt', (c) => createMqttService(c, alerts, metrics, { version: VERSION, certificate: mail.certificates }));
  const firewall = extensions.add('firewall', (c) => createFirewallService(c, options.firewall));
  extensions.add('health', (c) => Object.assign(createHealthWatch(c, { queueDepth: () => mail.qmgr.depth() }), { restartOn: ['alerts.checkSeconds'] as const }));
  extensions.add('dns-watch', (c) => createDnsWatch(c));
  const dmarc = extensions.add('dmarc-reports', (c) => createDmarcReportService(c, { spool: mail.spool, enqueue: (id) => mail.qmgr.enqueue(id) }, { version: VERSION }));
  extensions.add('quarantine-expiry', (c) => Object.assign(quarantineExpiryService(c), { restartOn: ['quarantine.sweepInterval'] as const }));
  const web = extensions.add('web', (c) => createWebService(c, { certificates: mail.certificates, ephemeralPorts: options.ephemeralPorts ?? false }));
  attachPolicyRoute(ctx, web);
  // Thunderbird, Outlook and Apple Mail set themselves up from the ports the listeners really hold.
  web.route(autoconfigRoute(ctx, () => {
    const smtp = mail.smtp.ports();
    return { ...(smtp.submission ? { submission: smtp.submission } : {}), ...(smtp.smtps ? { smtps: smtp.smtps } : {}), ...mail.pop3.ports() };
  }));
  const acme = extensions.add('acme', (c) => createAcmeService(c, { certificates: mail.certificates, web }));
  extensions.add('tlsrpt', (c) => createTlsReportService({ ctx: c, recorder: mail.recorder, spool: mail.spool, enqueue: (id) => mail.qmgr.enqueue(id) }));
  extensions.add('upgrade-status', (c) => upgradeStatusService(c));
  extensions.add('backup-schedule', (c) => backupScheduleService(c, { firmware: VERSION, ...(options.backupLookMs ? { lookMs: options.backupLookMs } : {}) }));
  const hooks: CommandHooks = {
    alerts,
    firewall,
    checks: senderAuthChecks(ctx),
    status: async () => formatStatus(await metrics.snapshot(), mqtt.status()) + formatExtensions(extensions.status()) + formatTransportStatus(ctx.store.settings, mail.certificates.current),
    queue: async () => formatQueue(await new QueueAdmin(mail.spool, mail.qmgr).list()) || 'queue empty',
    sendDmarcReports: (now) => dmarc.sendDue(now),
    restoreBackup: restoreFromSetup,
    ...(options.restart ? { restart: options.restart } : {}),
    ...(options.shutdown ? { shutdown: options.shutdown } : {}),
    ...(options.reset ? { reset: options.reset } : {}),
  };
  // The CLI's way in: every command against this firmware, with these hooks (firmware/control-socket.ts).
  extensions.add('control', (c) => createControlService(c, hooks));
  return { extensions, mqtt, firewall, web, acme, hooks };
}

// --- start and stop ------------------------------------------------------------------------------

export interface Firmware {
  ctx: Context;
  spool: Spool;
  qmgr: Qmgr;
  smtp: SmtpService;
  pop3: Pop3Service;
  alerts: AlertEngine;
  extensions: Extensions;
  hooks: CommandHooks;
  /** The web listener (its ports while open). */
  web: WebService;
  ports(): Record<string, number>;
  stop(): Promise<void>;
}

export interface Parts {
  ctx: Context;
  watchers: Watchers;
  mail: MailStations;
  addons: Addons;
}

/** Watchers, extensions (none of which can stop the start), mail, the ready line, then the console. */
export async function startParts(parts: Parts, options: Pick<FirmwareOptions, 'console' | 'onReady'> = {}): Promise<Firmware> {
  const { ctx, watchers, mail, addons } = parts;
  const { extensions } = addons;
  await watchers.start();
  await extensions.start();
  try {
    await mail.start();
  } catch (err) {
    await extensions.stop();
    await watchers.stop();
    ctx.store.close();
    closeLog(ctx);
    throw err;
  }
  options.onReady?.(mail.ports());
  if (options.console) {
    extensions.add('console', (c) => createConsoleService(c, addons.hooks, { throttle: mail.throttle }));
    await extensions.start();
  }
  let stopping: Promise<void> | undefined;
  return {
    ctx,
    spool: mail.spool,
    qmgr: mail.qmgr,
    smtp: mail.smtp,
    pop3: mail.pop3,
    alerts: watchers.alerts,
    extensions,
    hooks: addons.hooks,
    web: addons.web,
    ports: () => mail.ports(),
    stop() {
      stopping ??= (async () => {
        await mail.stop();
        await extensions.stop();
        await watchers.stop();
        ctx.store.close();
        closeLog(ctx);
      })();
      return stopping;
    },
  };
}

/** The whole appliance on a data folder, as `yubin start` runs it. */
export async function startFirmware(options: FirmwareOptions): Promise<Firmware> {
  const ctx = await openContext(options);
  let mail: MailStations;
  try {
    mail = await createMailStations(ctx, options);
  } catch (err) {
    ctx.store.close();
    closeLog(ctx);
    throw err;
  }
  const watchers = createWatchers(ctx);
  const addons = createExtensions(ctx, watchers, mail, options);
  return startParts({ ctx, watchers, mail, addons }, options);
}
