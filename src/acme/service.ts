// The ACME extension: keeps the board's certificate issued and renewed by itself. On start it
// serves the last ACME certificate if the store has something worse, then orders one when due
// (src/acme/schedule.ts); a new certificate is written durably and put in the certificate store,
// which every TLS listener reads at its next handshake — no restart, no session dropped. A failed
// order is logged with the step and the CA's reason, alerted (certificate), and tried again after
// a backoff kept across restarts; an alert turns critical when expiry is within acme.alertDays.
// Mail never waits on any of this: it is an extension (firmware/extensions.ts).
import type { Context, Service } from '../context.ts';
import type { SettingKey } from '../config/schema.ts';
import type { WebService } from '../web/service.ts';
import { checkPair, type CertificateStore } from '../tls/store.ts';
import { loadCertificate } from '../tls/certificate.ts';
import { trustedRoots } from '../tls/trust.ts';
import { AcmeStorage, type AcmeState } from './storage.ts';
import { covers } from './names.ts';
import { issueCertificate, wantedNames } from './issue.ts';
import { backoffMs, nextOrder, renewAt } from './schedule.ts';
import type { AcmeError, ChallengeSolver } from './types.ts';
import { orderInChild, revokeInChild } from './worker.ts';
import { httpChallenges, alpnChallenges, type HttpChallenges } from './challenges.ts';

/** Longest single sleep: the schedule is re-read at least this often (clock changes, settings). */
const MAX_SLEEP_MS = 6 * 3600_000;
/** How often a request from `yubin acme` or a certificate written by another process is looked for. */
const POLL_MS = 5000;

export interface AcmeService extends Service {
  readonly restartOn: readonly SettingKey[];
  /** Order now, whatever the schedule says (`acme renew`); resolves when the order has ended. */
  renewNow(): Promise<void>;
  /** Revoke the served certificate, fall back to the self-signed one, and order a new one. */
  revokeNow(): Promise<void>;
}

export interface AcmeDeps {
  certificates: CertificateStore;
  web: WebService;
}

export { wantedNames };

export function createAcmeService(ctx: Context, deps: AcmeDeps): AcmeService {
  const storage = new AcmeStorage(ctx.dataDir);
  const settings = () => ctx.store.settings;
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let active = false;
  let http: HttpChallenges | null = null;
  let alpn: ChallengeSolver | null = null;
  let unwatch: (() => void) | undefined;

  const idleReason = (): string | null => {
    if (!settings()['acme.enabled']) return 'acme.enabled is off';
    if (settings()['tls.cert'] !== '') return 'tls.cert is set: the admin\'s certificate is served and ACME stays idle';
    return null;
  };

  async function solver(): Promise<ChallengeSolver> {
    const type = settings()['acme.challenge'];
    if (type === 'http-01') {
      http ??= httpChallenges(ctx, deps.web);
      return http.solver;
    }
    if (type === 'tls-alpn-01') {
      alpn ??= alpnChallenges(deps.web);
      return alpn;
    }
    const { rfc2136Solver } = await import('./dns01.ts');
    const dns = rfc2136Solver(ctx);
    if (!dns) throw new Error('dns-01 without acme.dnsServer cannot run unattended: run `yubin acme renew` at the console, publish the TXT records it prints, and it completes the order');
    return dns;
  }

  /** The served certificate if it is an ACME one for every wanted name. */
  function currentFor(names: readonly string[]) {
    const c = deps.certificates.current;
    return c.source === 'acme' && covers(c.names, names) ? c : null;
  }

  /** A certificate in DATA/acme/live better than the one served (first start, or issued by `yubin acme` elsewhere). */
  async function adoptLive(): Promise<void> {
    const files = await storage.liveFiles();
    if (!files) return;
    let facts;
    try {
      facts = checkPair(files);
    } catch (err) {
      ctx.log.log('warn', 'acme: DATA/acme/live holds no usable certificate', { error: (err as Error).message });
      return;
    }
    const served = deps.certificates.current;
    if (facts.fingerprint === served.fingerprint || facts.notAfter.getTime() <= Date.now()) return;
    if (served.source === 'acme' && facts.notAfter <= served.notAfter) return;
    deps.certificates.replace(files, 'acme');
    ctx.log.log('info', 'acme: serving the certificate found in DATA/acme/live', { names: facts.names, notAfter: facts.notAfter.toISOString(), serial: facts.serial });
  }

  async function schedule(): Promise<void> {
    clearTimeout(timer);
    if (!active) return;
    const { names } = wantedNames(ctx);
    const state = await storage.state();
    const now = Date.now();
    const current = currentFor(names);
    const due = nextOrder({ now, current, ...(state.lastResult === 'failed' && state.nextAttempt ? { notBefore: state.nextAttempt } : {}) });
    const served = deps.certificates.current;
    const daysLeft = Math.floor((served.notAfter.getTime() - now) / 86_400_000);
    // Alert once renewal was due and has not succeeded, when expiry is near.
    if (served.source === 'acme' && now >= renewAt(served.notBefore, served.notAfter) && daysLeft < settings()['acme.alertDays']) {
      ctx.bus.emit('certificate.expiring', { names: served.names, notAfter: served.notAfter.toISOString(), daysLeft });
    }
    const wait = Math.max(0, due.at - now);
    ctx.log.log('debug', 'acme: next order', { at: new Date(due.at).toISOString(), why: due.why });
    timer = setTimeout(() => {
      if (due.at <= Date.now()) void run(due.why);
      else void schedule();
    }, Math.min(wait, MAX_SLEEP_MS));
    timer.unref();
  }

  function run(why: string): Promise<void> {
    running ??= order(why).finally(() => {
      running = null;
      return schedule().catch((err: Error) => ctx.log.log('error', 'acme: cannot schedule', { error: err.message }));
    });
    return running;
  }

  async function order(why: string): Promise<void> {
    const s = settings();
    const state = await storage.state();
    const renewal = deps.certificates.current.source === 'acme';
    const progress = { step: 'start' };
    const { names } = wantedNames(ctx);
    try {
      // acme-client runs in a child process: the board does not carry it between renewals.
      const issued = await issueCertificate(ctx, storage, await solver(), why, progress, orderInChild);
      deps.certificates.replace(issued.files, 'acme');
      const facts = issued.facts;
      ctx.log.log('info', renewal ? 'acme: certificate renewed; every TLS listener serves it from the next handshake' : 'acme: certificate issued; every TLS listener serves it from the next handshake', {
        names: facts.names, serial: facts.serial, notAfter: facts.notAfter.toISOString(), issuer: facts.issuer,
      });
      ctx.bus.emit('certificate.issued', { names: facts.names, notAfter: facts.notAfter.toISOString(), serial: facts.serial, renewal });
    } catch (err) {
      const e = err as AcmeError;
      const failures = state.failures + 1;
      const retryAt = Date.now() + backoffMs(failures, e.retryAfterMs);
      const next: AcmeState = { ...state, failures, lastAttempt: Date.now(), lastResult: 'failed', lastError: e.message, nextAttempt: retryAt };
      await storage.saveState(next).catch(() => undefined);
      // The CA forgot the account (a reset staging CA): register anew next time.
      if (/accountDoesNotExist/.test(e.message)) await storage.forgetAccountUrl(s['acme.directory']).catch(() => undefined);
      ctx.log.log('error', 'acme: certificate order failed; the current certificate stays', {
        step: progress.step, kind: e.kind ?? 'error', error: e.message, failures, retryAt: new Date(retryAt).toISOString(), serving: deps.certificates.current.source,
      });
      ctx.bus.emit('certificate.failed', { names, reason: e.message, failures, retryAt });
    }
  }

  async function revokeNow(): Promise<void> {
    await running;
    const served = deps.certificates.current;
    if (served.source !== 'acme') throw new Error(`the served certificate is ${served.source}, not from ACME: nothing to revoke`);
    const s = settings();
    const accountKey = await storage.accountKey(() => Promise.reject(new Error('no ACME account key in DATA/acme')));
    await revokeInChild({ directory: s['acme.directory'], accountKey, accountUrl: await storage.accountUrl(s['acme.directory']), roots: trustedRoots(s['tls.extraRoots']) }, served.cert);
    ctx.log.log('warn', 'acme: certificate revoked; serving the self-signed one until a new one is issued', { serial: served.serial, names: served.names });
    ctx.bus.emit('certificate.revoked', { serial: served.serial, names: served.names });
    await storage.removeLive();
    // A revoked certificate is worse than none: clients that check revocation refuse it.
    deps.certificates.replace(await loadCertificate(ctx.dataDir, '', '', s.hostname), 'self-signed');
    await storage.saveState({ failures: 0, lastAttempt: Date.now(), lastResult: 'revoked', serial: served.serial });
    if (active) await run('the certificate was revoked');
  }

  async function pollRequests(): Promise<void> {
    const request = await storage.takeRequest();
    if (request?.action === 'renew') {
      ctx.log.log('info', 'acme: renewal asked for (yubin acme renew)');
      await run('asked for by the admin');
    } else if (request?.action === 'revoke') {
      ctx.log.log('info', 'acme: revocation asked for (yubin acme revoke)');
      await revokeNow().catch(async (err: Error) => {
        ctx.log.log('error', 'acme: revocation failed; the certificate stays', { error: err.message });
        const state = await storage.state();
        await storage.saveState({ ...state, lastAttempt: Date.now(), lastResult: 'failed', lastError: `revocation failed: ${err.message}` });
      });
    }
    await adoptLive();
  }

  return {
    name: 'acme',
    restartOn: ['acme.enabled', 'acme.challenge', 'tls.cert'],
    async start() {
      const idle = idleReason();
      if (idle) {
        if (settings()['acme.enabled']) ctx.log.log('warn', `acme: idle: ${idle}`);
        return;
      }
      await storage.init();
      await adoptLive();
      active = true;
      // Names follow hostname, domains, mtasts.mode and acme.names: a change may call for a new order.
      unwatch = ctx.bus.on('config.changed', ({ keys }) => {
        if (keys.some((k) => ['hostname', 'domains', 'mtasts.mode', 'acme.names', 'acme.directory'].includes(k))) void schedule();
      });
      const tick = () => {
        poll = setTimeout(() => {
          pollRequests().catch((err: Error) => ctx.log.log('warn', 'acme: request check failed', { error: err.message })).finally(() => {
            if (active) tick();
          });
        }, POLL_MS);
        poll.unref();
      };
      tick();
      await schedule();
    },
    async stop() {
      active = false;
      clearTimeout(timer);
      clearTimeout(poll);
      unwatch?.();
      unwatch = undefined;
      // An order in flight cannot be aborted (acme-client takes no signal); it is not waited for long.
      if (running) await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
      http?.detach();
      http = null;
      alpn = null;
    },
    renewNow: () => run('asked for by the admin'),
    revokeNow,
  };
}
