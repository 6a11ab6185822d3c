// The POP3 service (the MRA, docs/REQUIREMENTS.md §3): a plain listener offering STLS (110, dev 1110) and
// an implicit-TLS listener (995, dev 1995), both bounded in sessions overall and per client.
// Each connection is one Pop3Session; they share the maildrop locks and the login throttle.
import { createServer, type Server, type Socket, type AddressInfo } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Context, Service } from '../context.ts';
import { networkSet, normalizeIp } from '../net/ip.ts';
import { ConnectionGate, type GateLimits } from '../anvil/gate.ts';
import { Pop3Session } from './session.ts';
import { MaildropLocks } from './locks.ts';
import { LoginThrottle } from '../anvil/login-throttle.ts';
import { startTls } from './tls.ts';
import { sessionGuard } from '../guard/session-guard.ts';
import { tlsServerOptions } from '../tls/profile.ts';

export interface Pop3Options {
  /** Certificate and key (PEM). Without them neither STLS nor the POP3S listener is offered. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Bind every enabled listener on a free port instead of its configured one (tests). */
  readonly ephemeralPorts?: boolean;
  /** The login brake shared with SMTP AUTH and the console; a service of its own otherwise. */
  readonly throttle?: LoginThrottle;
}

export interface Pop3Service extends Service {
  /** Bound ports of the running listeners (with ephemeralPorts, tests read them here). */
  ports(): { pop3?: number; pop3s?: number };
  /** Sessions open right now. */
  sessionCount(): number;
}

const TLS_HANDSHAKE_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const CLOSE_GRACE_MS = 5_000;

export function createPop3Service(ctx: Context, options: Pop3Options = {}): Pop3Service {
  const locks = new MaildropLocks();
  const throttle = options.throttle ?? new LoginThrottle();
  const sessions = new Set<Pop3Session>();
  // The same fair limits as SMTP (src/anvil/gate.ts): a reserve for trusted networks, caps per
  // address and network, idle strangers preempted when full, shorter pre-login timeouts under stress.
  const gate = new ConnectionGate();
  const gateLimits = (): GateLimits => ({
    total: ctx.store.get('pop3.maxSessions'),
    reserved: ctx.store.get('pop3.reservedSessions'),
    perClient: ctx.store.get('pop3.maxSessionsPerClient'),
    perNetwork: ctx.store.get('pop3.maxSessionsPerNetwork'),
    stressPercent: ctx.store.get('pop3.stressThreshold'),
  });
  let trustedList: readonly string[] | undefined;
  let trusted: (ip: string) => boolean = () => false;
  const isTrusted = (ip: string) => {
    const list = ctx.store.get('trustedNetworks');
    if (list !== trustedList) [trustedList, trusted] = [list, networkSet(list)];
    return trusted(ip);
  };
  let wasStressed = false;
  const applyStress = () => {
    const stressed = gate.stressed(gateLimits());
    if (stressed === wasStressed) return;
    wasStressed = stressed;
    ctx.log.log(stressed ? 'warn' : 'info', stressed ? 'pop3 under stress: shorter idle timeouts before login' : 'pop3 stress over', { sessions: gate.size });
    // As for SMTP: only entering stress re-arms; the short timers then run out.
    if (stressed) for (const s of sessions) s.rearmIdle();
  };
  /** Idle timeout of a session: pop3.stressTimeout before login for a stranger under stress. */
  const idleTimeoutMs = (id: string, loggedIn: boolean): number => {
    const g = gate.get(id);
    const short = !loggedIn && g !== undefined && !g.trusted && gate.stressed(gateLimits());
    return (short ? ctx.store.get('pop3.stressTimeout') : ctx.store.get('pop3.idleTimeout')) * 1000;
  };
  let nextId = 0;
  const servers: { plain: Server | null; tls: Server | null } = { plain: null, tls: null };
  let secureContext: SecureContext | null = null;

  function accept(socket: Socket, implicitTls: boolean): void {
    socket.on('error', () => undefined);
    const client = normalizeIp(socket.remoteAddress ?? '');
    const id = `pop3-${(nextId++).toString(36)}`;
    let session: Pop3Session | null = null;
    const admission = gate.admit({
      id,
      ip: client,
      trusted: isTrusted(client),
      preempt: (reason) => (session ? session.shutdown(reason) : socket.destroy()),
    }, gateLimits());
    if (!admission.ok) {
      ctx.log.log('warn', 'pop3 connection refused', { client, cause: admission.cause, total: gate.size });
      // Plain text even on the TLS port: no handshake is spent on a connection we refuse.
      socket.end(`-ERR [SYS/TEMP] ${admission.cause}; try again later\r\n`);
      socket.destroySoon();
      return;
    }
    applyStress();
    const deps = {
      ctx, locks, throttle, secureContext, trusted: isTrusted(client),
      idleTimeoutMs: (loggedIn: boolean) => idleTimeoutMs(id, loggedIn),
      tlsPort: () => (servers.tls ? (servers.tls.address() as AddressInfo).port : undefined),
      onLogin: () => {
        const g = gate.get(id);
        if (g) g.authenticated = true;
      },
    };
    const done = () => {
      if (session) sessions.delete(session);
      gate.release(id);
      applyStress();
      // The session has ended its side; a peer that never closes its own is cut after a grace time.
      if (!socket.destroyed) {
        const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
        socket.once('close', () => clearTimeout(timer));
      }
    };
    const begin = (s: Socket, tls: boolean) => {
      const current = new Pop3Session(s, client, tls, deps);
      session = current;
      sessions.add(current);
      // The last-resort net (src/guard/): an error that escapes this session ends it alone.
      const scope = sessionGuard.open('pop3', id, client, (err) => {
        ctx.log.log('error', 'pop3 session ended by the guard', { session: id, client, error: err.stack ?? String(err) });
        ctx.bus.emit('session.failed', { service: 'pop3', session: id, client, error: err.message });
        current.shutdown('Local error in processing; this session is closed, try again later');
      });
      sessionGuard.run(scope, () => current.run()).finally(done);
    };
    if (!implicitTls || !secureContext) {
      begin(socket, false);
      return;
    }
    startTls(socket, secureContext, TLS_HANDSHAKE_MS).then(
      (secure) => begin(secure, true),
      (err: Error) => {
        ctx.log.log('info', 'pop3s handshake failed', { client, error: err.message });
        socket.destroy();
        done();
      },
    );
  }

  async function listen(configured: number, implicitTls: boolean): Promise<Server | null> {
    if (configured === 0) return null; // 0 disables the listener
    const port = options.ephemeralPorts ? 0 : configured;
    // No Nagle: a reply is written as status line then body, and with Nagle the body waits for the
    // client's delayed ACK (40 ms on Linux) — 22 RETR/s instead of hundreds (bench/README.md).
    const server = createServer({ noDelay: true }, (socket) => accept(socket, implicitTls));
    const address = ctx.store.get('listen.address');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => ctx.log.log('error', 'pop3 listener error', { error: err.message }));
    return server;
  }

  return {
    name: 'pop3d',
    async start() {
      if (options.tls) {
        try {
          secureContext = createSecureContext(tlsServerOptions(options.tls));
        } catch (err) {
          throw new Error(`tls.cert/tls.key: cannot load the certificate for POP3 (${(err as Error).message})`);
        }
      }
      try {
        servers.plain = await listen(ctx.store.get('pop3.port'), false);
        servers.tls = secureContext ? await listen(ctx.store.get('pop3.tlsPort'), true) : null;
      } catch (err) {
        await this.stop();
        const e = err as NodeJS.ErrnoException;
        throw new Error(`pop3.port/pop3.tlsPort: cannot listen (${e.code ?? e.message})`);
      }
      ctx.log.log('info', 'pop3 listening', this.ports());
    },
    async stop() {
      const closing = [servers.plain, servers.tls].map((s) => (s ? new Promise<void>((r) => s.close(() => r())) : Promise.resolve()));
      for (const s of sessions) s.shutdown('Server shutting down');
      await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
      servers.plain = null;
      servers.tls = null;
    },
    ports() {
      const out: { pop3?: number; pop3s?: number } = {};
      if (servers.plain) out.pop3 = (servers.plain.address() as AddressInfo).port;
      if (servers.tls) out.pop3s = (servers.tls.address() as AddressInfo).port;
      return out;
    },
    sessionCount() {
      return sessions.size;
    },
  };
}
