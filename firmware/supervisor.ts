// The firmware's wiring: one place that builds the context, starts every station in order and
// stops them in reverse. Reading this file top to bottom shows the whole appliance.
import { resolve } from 'node:path';
import { ConfigStore } from '../src/config/store.ts';
import { Users } from '../src/accounts/users.ts';
import { EventBus } from '../src/events/bus.ts';
import { Leases } from '../src/policy/leases.ts';
import { stderrLogger, type Context, type Logger, type Service } from '../src/context.ts';
import { Spool } from '../src/spool/spool.ts';
import { Qmgr } from '../src/qmgr/qmgr.ts';
import { createMailboxDeliverer } from '../src/local/mda.ts';
import { createSmtpService, type SmtpService } from '../src/smtpd/server.ts';
import { loadCertificate } from '../src/tls/certificate.ts';
import { stages } from '../src/pipeline/stages.ts';
import { createPop3Service, type Pop3Service } from '../src/pop3d/server.ts';

export interface FirmwareOptions {
  dataDir: string;
  configFile?: string;
  /** Bind every listener on a free port (tests); the ready line reports them. */
  ephemeralPorts?: boolean;
  log?: Logger;
}

export interface Firmware {
  ctx: Context;
  spool: Spool;
  qmgr: Qmgr;
  smtp: SmtpService;
  pop3: Pop3Service;
  ports(): Record<string, number>;
  stop(): Promise<void>;
}

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
  // Changes committed by the CLI in another process take effect without a restart (ports excepted).
  store.watch(() => ctx.bus.emit('config.changed', { keys: [] }));

  const tls = await loadCertificate(dataDir, store.get('tls.cert'), store.get('tls.key'), store.get('hostname'));
  const spool = new Spool(dataDir);
  const qmgr = new Qmgr(ctx, spool, { mailbox: createMailboxDeliverer(ctx, (id) => spool.messagePath(id)) });
  const smtp = createSmtpService(ctx, {
    tls,
    spool,
    stages,
    queued: (entry) => qmgr.enqueue(entry.id, entry.holdUntil),
    ephemeralPorts: options.ephemeralPorts ?? false,
  });

  const pop3 = createPop3Service(ctx, { tls, ephemeralPorts: options.ephemeralPorts ?? false });

  const services: Service[] = [qmgr, smtp, pop3];
  const started: Service[] = [];
  try {
    for (const service of services) {
      await service.start();
      started.push(service);
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
    ports() {
      const p = smtp.ports();
      const out: Record<string, number> = {};
      if (p.mta) out.smtp = p.mta;
      if (p.submission) out.submission = p.submission;
      if (p.smtps) out.smtps = p.smtps;
      const q = pop3.ports();
      if (q.pop3) out.pop3 = q.pop3;
      if (q.pop3s) out.pop3s = q.pop3s;
      return out;
    },
    async stop() {
      for (const service of [...started].reverse()) await service.stop().catch((err) => ctx.log.log('warn', 'stop failed', { service: service.name, error: String(err) }));
      store.close();
    },
  };
}
