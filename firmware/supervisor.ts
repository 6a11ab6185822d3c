// The firmware's wiring: one place that builds the context, starts every station in order and
// stops them in reverse. Reading this file top to bottom shows the whole appliance.
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { ConfigStore } from '../src/config/store.ts';
import { tightenSecretsDir } from '../src/config/secrets-dir.ts';
import { Users } from '../src/accounts/users.ts';
import { EventBus } from '../src/events/bus.ts';
import { Leases } from '../src/policy/leases.ts';
import { stderrLogger, type Context, type Logger, type Service } from '../src/context.ts';
import { Spool } from '../src/spool/spool.ts';
import type { Qmgr } from '../src/qmgr/qmgr.ts';
import { createQueueStation } from './queue-station.ts';
import { createSmtpService, type SmtpService } from '../src/smtpd/server.ts';
import { loadCertificate } from '../src/tls/certificate.ts';
import { stages } from '../src/pipeline/stages.ts';
import { createPop3Service, type Pop3Service } from '../src/pop3d/server.ts';
import { quarantineHook } from '../src/quarantine/store.ts';
import { quarantineExpiryService } from '../src/quarantine/service.ts';
import { createAlertEngine, type AlertEngine } from '../src/alerts/engine.ts';
import { createHealthWatch } from '../src/alerts/health.ts';
import { createMetrics } from '../src/telemetry/metrics.ts';
import { createMqttService } from '../src/telemetry/mqtt.ts';
import { formatStatus } from '../src/telemetry/status.ts';
import { createLedService } from '../board/gpio/leds.ts';
import { createFirewallService } from '../board/firewall/service.ts';
import { createConsoleService } from './console/service.ts';
import { senderAuthChecks } from './checks.ts';
import { formatQueue, QueueAdmin } from '../src/qmgr/admin.ts';
import { createHoldService } from '../src/hold/service.ts';
import type { CommandHooks } from './commands/types.ts';
import { LoginThrottle } from '../src/anvil/login-throttle.ts';

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
  log?: Logger;
}

export interface Firmware {
  ctx: Context;
  spool: Spool;
  qmgr: Qmgr;
  smtp: SmtpService;
  pop3: Pop3Service;
  alerts: AlertEngine;
  ports(): Record<string, number>;
  stop(): Promise<void>;
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export async function startFirmware(options: FirmwareOptions): Promise<Firmware> {
  const dataDir = resolve(options.dataDir);
  const store = await ConfigStore.open(dataDir, options.configFile ? resolve(options.configFile) : undefined);
  const ctx: Context = {
    dataDir,
    store,
    users: new Users(store),
    bus: new EventBus(),
    log: options.log ?? stderrLogger(),
    leases: new Leases(),
  };
  const wasMode = await tightenSecretsDir(dataDir);
  if (wasMode !== undefined) ctx.log.log('warn', 'DATA/secrets was not private: made it 0700', { was: `0${wasMode.toString(8)}` });
  // Changes committed by the CLI in another process take effect without a restart (ports excepted).
  store.watch(() => ctx.bus.emit('config.changed', { keys: [] }));

  // Watchers first, so they see everything the mail stations do.
  const alerts = createAlertEngine(ctx);
  const metrics = createMetrics(ctx);
  const leds = createLedService(ctx, alerts);
  const mqtt = createMqttService(ctx, alerts, metrics, { version: VERSION });
  const firewall = createFirewallService(ctx);

  // The mail flow: spool → queue manager → delivery agents; listeners last.
  const tls = await loadCertificate(dataDir, store.get('tls.cert'), store.get('tls.key'), store.get('hostname'));
  const spool = new Spool(dataDir);
  const qmgr = createQueueStation(ctx, spool);
  const hold = createHoldService({ ctx, spool, qmgr });
  metrics.setQueueDepthSource(() => qmgr.depth());
  const health = createHealthWatch(ctx, { queueDepth: () => qmgr.depth() });
  // One brake on password guessing for SMTP AUTH, POP3 and the console (src/anvil/).
  const throttle = new LoginThrottle();
  const smtp = createSmtpService(ctx, {
    throttle,
    tls,
    spool,
    stages,
    quarantine: quarantineHook(ctx),
    hold,
    holdUntil: (entry) => hold.holdUntil(entry),
    queued: (entry) => {
      qmgr.enqueue(entry.id, entry.holdUntil, true);
      void hold.queued(entry);
    },
    ephemeralPorts: options.ephemeralPorts ?? false,
  });
  const pop3 = createPop3Service(ctx, { tls, throttle, ephemeralPorts: options.ephemeralPorts ?? false });

  const hooks: CommandHooks = {
    alerts,
    firewall,
    checks: senderAuthChecks(ctx),
    status: async () => formatStatus(await metrics.snapshot(), mqtt.status()),
    queue: async () => formatQueue(await new QueueAdmin(spool, qmgr).list()) || 'queue empty',
    ...(options.restart ? { restart: options.restart } : {}),
  };

  const services: Service[] = [alerts, metrics, leds, mqtt, firewall, health, quarantineExpiryService(ctx), qmgr, smtp, pop3];
  const started: Service[] = [];
  const ports = () => {
    const p = smtp.ports();
    const q = pop3.ports();
    const out: Record<string, number> = {};
    if (p.mta) out.smtp = p.mta;
    if (p.submission) out.submission = p.submission;
    if (p.smtps) out.smtps = p.smtps;
    if (q.pop3) out.pop3 = q.pop3;
    if (q.pop3s) out.pop3s = q.pop3s;
    return out;
  };
  try {
    for (const service of services) {
      await service.start();
      started.push(service);
    }
    options.onReady?.(ports());
    if (options.console) {
      const consoleService = createConsoleService(ctx, hooks, { throttle });
      await consoleService.start();
      started.push(consoleService);
    }
  } catch (err) {
    for (const service of started.reverse()) await service.stop().catch(() => undefined);
    store.close();
    throw err;
  }

  return {
    ctx,
    spool,
    qmgr,
    smtp,
    pop3,
    alerts,
    ports,
    async stop() {
      for (const service of [...started].reverse()) await service.stop().catch((err) => ctx.log.log('warn', 'stop failed', { service: service.name, error: String(err) }));
      store.close();
    },
  };
}
