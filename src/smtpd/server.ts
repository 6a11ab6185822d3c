// The SMTP listeners (Postfix's smtpd): MTA on 25, MSA on 587 (STARTTLS) and 465 (implicit TLS).
// Policy enters only through smtp-server's hooks: connect limits, AUTH, MAIL FROM ownership,
// RCPT judged by the relay table (src/policy/relay.ts), DATA streamed to the spool (receive.ts).
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession, type SMTPServerAddress, type SMTPServerAuthentication } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import type { Context, Service } from '../context.ts';
import type { ClientInfo } from '../mail/types.ts';
import { networkSet, normalizeIp } from '../net/ip.ts';
import { mayRelay, type RelayClient } from '../policy/relay.ts';
import { judgeRcpt, dataQuota, type RcptSite } from '../policy/rcpt.ts';
import { checkSenderOwnership, decideMailFrom } from '../policy/sender.ts';
import { routeRecipient } from '../route/route.ts';
import type { Routed } from '../mail/types.ts';
import { routeSiteOf } from '../route/site.ts';
import { maildirOf } from '../maildir/maildir.ts';
import { mailboxUsage } from '../maildir/usage.ts';
import { ConnectionGate, type GateLimits } from '../anvil/gate.ts';
import { keepOwnEnhancedCodes } from './enhanced-codes.ts';
import { greetByPolicy, GREETING_POLICY, type GreetingPolicy } from './greeting.ts';
import { replyError } from './reply.ts';
import { receiveMessage, type ReceiveDeps } from './receive.ts';
import { drainListeners } from './drain.ts';
import type { HoldService } from '../hold/service.ts';
import { sessionGuard, SMTP_GUARD_REPLY, type SessionScope } from '../guard/session-guard.ts';
import { LoginThrottle } from '../anvil/login-throttle.ts';
import { loginLimits } from '../anvil/limits.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { tlsServerOptions } from '../tls/profile.ts';

export type ListenerName = 'mta' | 'submission' | 'smtps';

/** What we call on one of smtp-server's connections (internal members, see greeting.ts). */
interface Connection {
  id: string;
  send(code: number, text: string): void;
  close(): void;
  _armTimeout?(): void;
}

/** Where each smtp-server hook takes its session argument. */
const SESSION_ARG: Record<string, number> = { onConnect: 0, onSecure: 1, onClose: 0, onAuth: 1, onMailFrom: 1, onRcptTo: 1, onData: 1 };

interface SessionState {
  /** The session's last-resort scope (src/guard/): every hook runs in it. */
  scope: SessionScope;
  /** The callback of the hook in flight, if any: the guard answers it when it ends the session. */
  pending: ((err?: Error | null, ...rest: unknown[]) => void) | null;
  listener: ListenerName;
  trusted: boolean;
  bad: number;
  authFailures: number;
  rcpts: Array<{ address: string; routes: Routed[] }>;
  /** The smtp.maxSessionSeconds timer. */
  lifetime: NodeJS.Timeout;
  /** A message is streaming in (DATA): the session is neither preempted nor cut by its lifetime. */
  inData: boolean;
}

export interface SmtpService extends Service {
  /** Bound ports (tests start with port 0). */
  ports(): Partial<Record<ListenerName, number>>;
}

export interface SmtpOptions extends Omit<ReceiveDeps, 'ctx'> {
  /** Mis-send delay: RCPT to a cancel address cancels a held message (src/hold/). */
  hold?: Pick<HoldService, 'isCancelAddress' | 'cancelByAddress'>;
  tls: { key: Buffer; cert: Buffer };
  /** Bind every enabled listener on a free port instead of its configured one (tests). */
  ephemeralPorts?: boolean;
  /** The login brake shared with POP3 and the console; one of its own otherwise. */
  throttle?: LoginThrottle;
}

export function createSmtpService(ctx: Context, options: SmtpOptions): SmtpService {
  keepOwnEnhancedCodes();
  greetByPolicy();
  // Fair limits over all three listeners (src/anvil/gate.ts): a reserve for trusted networks,
  // caps per address and network, preemption of idle strangers, shorter timeouts under stress.
  const gate = new ConnectionGate();
  const throttle = options.throttle ?? new LoginThrottle();
  const gateLimits = (): GateLimits => ({
    total: settings()['smtp.maxConnections'],
    reserved: settings()['smtp.reservedConnections'],
    perClient: settings()['smtp.maxConnectionsPerClient'],
    perNetwork: settings()['smtp.maxConnectionsPerNetwork'],
    stressPercent: settings()['smtp.stressThreshold'],
  });
  let wasStressed = false;
  /** Idle timeout of one session: shorter for a stranger not logged in while under stress. */
  const idleTimeoutFor = (id: string): number => {
    const g = gate.get(id);
    const stressed = g && !g.trusted && !g.authenticated && gate.stressed(gateLimits());
    return (stressed ? settings()['smtp.stressTimeout'] : settings()['smtp.socketTimeout']) * 1000;
  };
  const sessions = new Map<string, SessionState>();
  const servers = new Map<ListenerName, SMTPServer>();
  const bound: Partial<Record<ListenerName, number>> = {};
  const reported = new WeakSet<Error>();
  const settings = () => ctx.store.settings;

  // Built once per committed trustedNetworks list, not once per connection.
  let trustedList: readonly string[] | undefined;
  let trusted: (ip: string) => boolean = () => false;
  const isTrusted = (ip: string) => {
    const list = settings().trustedNetworks;
    if (list !== trustedList) {
      trustedList = list;
      trusted = networkSet(list);
    }
    return trusted(ip);
  };

  const clientInfo = (session: SMTPServerSession, state: SessionState): ClientInfo => ({
    address: normalizeIp(session.remoteAddress),
    hostname: session.clientHostname?.startsWith('[') ? '' : (session.clientHostname ?? ''),
    helo: session.hostNameAppearsAs ?? '',
    tls: Boolean(session.secure),
    user: typeof session.user === 'string' ? session.user : null,
    trusted: state.trusted,
    session: session.id,
  });

  const routeSite = () => routeSiteOf(ctx);

  const quotaSite = {
    quotaOf: (user: string) => ctx.users.quotaOf(user),
    usageOf: (user: string) => mailboxUsage(maildirOf(ctx.dataDir, user)),
  };
  const rcptSite = (): RcptSite => ({
    role: settings().role,
    localDomains: settings().domains,
    boardAddresses: boardAddresses(settings()['listen.address']),
    routes: (address) => routeRecipient(address, routeSite()),
    maxRecipients: settings()['smtp.maxRecipients'],
    ...(options.hold ? { cancel: options.hold } : {}),
    ...quotaSite,
  });

  /** Count a refused command; past the limit the session ends with 421 (smtp-server closes on 421). */
  const bad = (state: SessionState, err: Error & { responseCode?: number }): Error => {
    state.bad += 1;
    if (state.bad >= settings()['smtp.maxBadCommands']) return replyError(421, '4.7.0', 'Too many errors, closing connection');
    return err;
  };

  const hooks = (listener: ListenerName): Partial<SMTPServerOptions> => ({
    onConnect(session, callback) {
      const ip = normalizeIp(session.remoteAddress);
      const trusted = isTrusted(ip);
      const admission = gate.admit({ id: session.id, ip, trusted, preempt: (reason) => connectionOf(session.id)?.send(421, `4.7.0 ${reason}`) }, gateLimits());
      if (!admission.ok) return callback(replyError(421, '4.7.0', `${admission.cause}, try again later`));
      applyStress();
      // smtp-server armed the idle timer before the gate knew this session: arm it again by its rules.
      if (!trusted && wasStressed) connectionOf(session.id)?._armTimeout?.();
      const scope = sessionGuard.open('smtp', session.id, ip, (err) => endByGuard(session.id, err));
      // No session lasts for ever, whatever it sends: smtp.maxSessionSeconds, then 421 (a DATA in
      // progress has its own limit and ends first).
      const lifetime = setTimeout(() => {
        const st = sessions.get(session.id);
        if (st && !st.inData) connectionOf(session.id)?.send(421, `4.4.2 Session lasted longer than ${settings()['smtp.maxSessionSeconds']} s (smtp.maxSessionSeconds), closing`);
      }, settings()['smtp.maxSessionSeconds'] * 1000).unref();
      sessions.set(session.id, { scope, pending: null, lifetime, inData: false, listener, trusted, bad: 0, authFailures: 0, rcpts: [] });
      // Like Postfix's smtpd_tls_auth_only: AUTH is not even offered until the channel is encrypted.
      if (!session.secure && settings()['smtp.requireTlsForAuth']) session.disabledCommands = ['AUTH'];
      callback();
    },

    onSecure(_socket, session, callback) {
      session.disabledCommands = [];
      callback();
    },

    onClose(session) {
      gate.release(session.id);
      applyStress();
      const st = sessions.get(session.id);
      if (st) clearTimeout(st.lifetime);
      sessions.delete(session.id);
    },

    onAuth(auth: SMTPServerAuthentication, session, callback) {
      const state = sessions.get(session.id);
      if (!state) return callback(replyError(421, '4.3.0', 'Session state lost'));
      const user = auth.username ?? '';
      const source = { address: normalizeIp(session.remoteAddress), trusted: state.trusted };
      const limits = loginLimits(ctx.store);
      // The brake shared with POP3 and the console (src/anvil/): per source and per (user, source),
      // across connections, one attempt at a time from an outside address.
      throttle.inTurn(source, async () => {
        const failed = async (reply: Error) => {
          state.authFailures += 1;
          ctx.bus.emit('auth.failed', { service: 'smtp', client: source.address, user });
          await sleep(throttle.fail(source, user, limits).delayMs);
          return reply;
        };
        // RFC 4954 §6: 454 4.7.0 is a temporary failure; the password is not even checked.
        if (throttle.lockedOut(source, user)) return failed(replyError(454, '4.7.0', 'Too many failed logins from your address, try again later'));
        const name = await ctx.users.authenticate(user, auth.password ?? '');
        if (!name) return failed(bad(state, replyError(535, '5.7.8', 'Authentication credentials invalid')));
        throttle.succeed(source, user);
        return name;
      }).then(
        (result) => {
          if (result instanceof Error) return callback(result);
          const g = gate.get(session.id);
          if (g) g.authenticated = true;
          callback(null, { user: result });
        },
        (err: Error) => callback(replyError(454, '4.7.0', `Temporary authentication failure: ${err.message}`)),
      );
    },

    onMailFrom(address: SMTPServerAddress, session, callback) {
      const state = sessions.get(session.id);
      if (!state) return callback(replyError(421, '4.3.0', 'Session state lost'));
      state.rcpts = [];
      const text = address.address ?? '';
      const smtputf8 = address.args !== false && address.args?.SMTPUTF8 === true;
      const sender = decideMailFrom(text, { smtputf8 });
      const refuse = (r: { code: number; enhanced: string; text: string }) => {
        ctx.log.log('info', 'mail from refused', { queueId: 'NOQUEUE', session: session.id, client: normalizeIp(session.remoteAddress), from: `<${text}>`, reply: `${r.code} ${r.enhanced} ${r.text}` });
        return callback(bad(state, replyError(r.code, r.enhanced, r.text)));
      };
      if (sender.action === 'reject') return refuse(sender);
      if (typeof session.user === 'string') {
        const refusal = checkSenderOwnership(text, session.user, ctx.users.addressesOf(session.user), { smtputf8 });
        if (refusal) return refuse(refusal);
      }
      callback();
    },

    onRcptTo(address: SMTPServerAddress, session, callback) {
      const state = sessions.get(session.id);
      if (!state) return callback(replyError(421, '4.3.0', 'Session state lost'));
      const ip = normalizeIp(session.remoteAddress);
      const rcptText = address.address ?? '';
      const mailFrom = session.envelope.mailFrom;
      const client: RelayClient = {
        address: ip,
        trusted: state.trusted,
        authenticated: typeof session.user === 'string',
        leased: ctx.leases.has(ip),
        smtputf8: mailFrom !== false && mailFrom?.args !== false && mailFrom?.args?.SMTPUTF8 === true,
      };
      const declared = mailFrom !== false && mailFrom?.args !== false ? Number(mailFrom?.args?.SIZE ?? 0) || 0 : 0;
      // Judged in src/policy/rcpt.ts; here only smtp-server's hook and its reply.
      const from = mailFrom ? (mailFrom.address ?? '') : '';
      judgeRcpt(rcptText, client, rcptSite(), state.rcpts.length, declared).then(
        (answer) => {
          if (answer.kind === 'refuse') {
            if (answer.relayAttempt) {
              ctx.bus.emit('relay.denied', { client: ip, helo: session.hostNameAppearsAs ?? '', from, rcpt: rcptText, reason: answer.relayAttempt });
            }
            const { code, enhanced, text } = answer.reply;
            // NOQUEUE: refused before any message exists; the delivery line says what the client heard.
            ctx.bus.emit('rcpt.outcome', { queueId: null, session: session.id, client: ip, from, to: rcptText, status: 'rejected', reply: `${code} ${enhanced} ${text}`, stage: 'rcpt' });
            const err = replyError(code, enhanced, text);
            return callback(answer.counts ? bad(state, err) : err);
          }
          if (answer.kind === 'cancelled') {
            // The whole effect is the cancellation (src/hold/): the reply says so, and this
            // recipient is not added, so no message is accepted for it (DATA alone gets 503).
            return callback(replyError(answer.reply.code, answer.reply.enhanced, answer.reply.text));
          }
          state.rcpts.push({ address: answer.address, routes: answer.routes });
          callback();
        },
        (err: Error) => callback(replyError(451, '4.3.0', `Local error judging the recipient: ${err.message}`)),
      );
    },

    onData(stream, session, callback) {
      const state = sessions.get(session.id);
      if (!state) {
        stream.resume();
        return callback(replyError(421, '4.3.0', 'Session state lost'));
      }
      const client = clientInfo(session, state);
      const outbound = mayRelay({ trusted: client.trusted, authenticated: client.user !== null, leased: ctx.leases.has(client.address) });
      // The whole DATA, however slowly it trickles in, takes at most smtp.maxDataSeconds.
      const dataLimit = settings()['smtp.maxDataSeconds'];
      const cut = new AbortController();
      const dataTimer = setTimeout(() => {
        cut.abort(new Error(`DATA took longer than ${dataLimit} s`));
        connectionOf(session.id)?.send(421, `4.4.2 Message took longer than ${dataLimit} s to send (smtp.maxDataSeconds), closing`);
      }, dataLimit * 1000).unref();
      state.inData = true;
      const g = gate.get(session.id);
      if (g) g.busy = true;
      const settle = () => {
        clearTimeout(dataTimer);
        state.inData = false;
        if (g) g.busy = false;
      };
      const tls = session.tlsOptions ? { protocol: session.tlsOptions.version ?? session.tlsOptions.name, cipher: session.tlsOptions.name } : null;
      receiveMessage(
        { ctx, spool: options.spool, pipeline: options.pipeline, holdUntil: options.holdUntil, queued: options.queued, sizeCheck: (size, rcpts) => dataQuota(size, rcpts.flatMap((r) => r.routes), quotaSite) },
        {
          signal: AbortSignal.any([state.scope.signal, cut.signal]),
          stream,
          envelope: { mailFrom: session.envelope.mailFrom ? (session.envelope.mailFrom.address ?? '') : '', rcpts: state.rcpts },
          client,
          direction: outbound ? 'outbound' : 'inbound',
          listener,
          tls,
        },
      ).then(
        (outcome) => {
          settle();
          state.rcpts = [];
          if (outcome.kind === 'refused') return callback(replyError(outcome.code, outcome.enhanced, outcome.text));
          callback(null, `2.0.0 Ok: queued as ${outcome.id}`);
        },
        (err: NodeJS.ErrnoException) => {
          settle();
          const rcpts = state.rcpts;
          state.rcpts = [];
          stream.resume();
          // smtp-server's ECONNECTION: the client left (or was told 421 at shutdown) before its final dot.
          const left = err.code === 'ECONNECTION';
          ctx.log.log(left ? 'info' : 'error', 'could not spool message', { session: session.id, client: client.address, error: String(err) });
          const reply = err.code === 'ENOSPC' || err.code === 'EDQUOT' ? replyError(452, '4.3.1', 'Insufficient system storage, try again later') : replyError(451, '4.3.0', 'Local error in processing, try again later');
          if (!left) {
            for (const r of rcpts) {
              ctx.bus.emit('rcpt.outcome', { queueId: null, session: session.id, client: client.address, from: session.envelope.mailFrom ? (session.envelope.mailFrom.address ?? '') : '', to: r.address, status: 'rejected', reply: `${reply.responseCode} ${reply.message}`, stage: 'data' });
            }
          }
          callback(reply);
        },
      );
    },
  });

  /**
   * Run each hook inside its session's guard scope, and keep its callback (answered at most once)
   * so that the guard can answer a hook in flight when it ends the session.
   */
  function guarded(all: Partial<SMTPServerOptions>): Partial<SMTPServerOptions> {
    const out: Record<string, unknown> = {};
    for (const [name, hook] of Object.entries(all)) {
      if (typeof hook !== 'function') continue;
      const at = SESSION_ARG[name] ?? 0;
      out[name] = (...args: unknown[]) => {
        const session = args[at] as SMTPServerSession | undefined;
        const last = args.length - 1;
        if (typeof args[last] === 'function' && name !== 'onClose') {
          const callback = args[last] as (...r: unknown[]) => void;
          let answered = false;
          const once = (...r: unknown[]) => {
            if (answered) return;
            answered = true;
            const st = session && sessions.get(session.id);
            if (st && st.pending === once) st.pending = null;
            callback(...r);
          };
          args[last] = once;
          const st = session && sessions.get(session.id);
          if (st) st.pending = once;
        }
        const state = session && sessions.get(session.id);
        return state ? sessionGuard.run(state.scope, () => (hook as (...a: unknown[]) => unknown)(...args)) : (hook as (...a: unknown[]) => unknown)(...args);
      };
    }
    return out as Partial<SMTPServerOptions>;
  }

  /** On entering stress, idle strangers' timers restart at the short stress timeout. */
  function applyStress(): void {
    const stressed = gate.stressed(gateLimits());
    if (stressed === wasStressed) return;
    wasStressed = stressed;
    ctx.log.log(stressed ? 'warn' : 'info', stressed ? 'smtp under stress: shorter idle timeouts for strangers' : 'smtp stress over', { sessions: gate.size });
    // Entering stress shortens the timers of idle strangers now; leaving it lets each keep its
    // short timer (re-arming them long would reprieve the very sessions that made the stress).
    if (stressed) for (const g of gate.idleStrangers()) connectionOf(g.id)?._armTimeout?.();
  }

  /** The guard ends one session: 451 4.3.0 to a hook in flight (or as a reply of its own), then close. */
  function endByGuard(id: string, err: Error): void {
    const state = sessions.get(id);
    ctx.log.log('error', 'smtp session ended by the guard', { session: id, client: state?.scope.client, error: err.stack ?? String(err) });
    ctx.bus.emit('session.failed', { service: 'smtp', session: id, client: state?.scope.client ?? '', error: err.message });
    const reply = replyError(SMTP_GUARD_REPLY.code, SMTP_GUARD_REPLY.enhanced, SMTP_GUARD_REPLY.text);
    const connection = connectionOf(id);
    if (state?.pending) state.pending(reply);
    else connection?.send(SMTP_GUARD_REPLY.code, `${SMTP_GUARD_REPLY.enhanced} ${SMTP_GUARD_REPLY.text}`);
    connection?.close();
  }

  function connectionOf(id: string): Connection | undefined {
    for (const server of servers.values()) {
      for (const c of (server as unknown as { connections: Set<Connection> }).connections) {
        if (c.id === id) return c;
      }
    }
    return undefined;
  }

  // The early-talker pause is for strangers on port 25 only (smtp.greetingDelay).
  const greeting = (listener: ListenerName): GreetingPolicy => ({
    delayFor: (ip) => (listener === 'mta' && !isTrusted(ip) ? settings()['smtp.greetingDelay'] : 0),
    idleTimeoutFor,
    exempt: isTrusted,
    earlyTalker: (ip) => ctx.bus.emit('smtp.early_talker', { client: normalizeIp(ip), listener }),
  });

  /** The options smtp-server reads from `server.options` at use (per connection, EHLO, timeout):
   * set again on every config.changed, so these settings apply live. */
  function liveOptions(): Partial<SMTPServerOptions> {
    const s = settings();
    return {
      name: s.hostname,
      allowInsecureAuth: !s['smtp.requireTlsForAuth'],
      // EHLO's SIZE and the check of a declared SIZE; the bytes sent are counted in receive.ts.
      size: s['smtp.maxSize'],
      // Our onConnect limit (over all listeners) answers first with 421 4.7.0; smtp-server's own
      // check, which has no enhanced code, is only a backstop with room for refusals in flight.
      maxClients: s['smtp.maxConnections'] * 2,
      socketTimeout: s['smtp.socketTimeout'] * 1000,
    };
  }
  let unwatch: (() => void) | undefined;

  function serverOptions(listener: ListenerName): SMTPServerOptions {
    return {
      ...liveOptions(),
      banner: 'Yubin',
      secure: listener === 'smtps',
      needsUpgrade: false,
      // Everything smtp-server passes to tls.createSecureContext, for implicit TLS and STARTTLS alike.
      ...tlsServerOptions(options.tls),
      // The MTA takes mail from the world without AUTH; the MSA ports require it (RFC 6409 §4.3).
      authOptional: listener === 'mta',
      authMethods: ['PLAIN', 'LOGIN'],
      hideENHANCEDSTATUSCODES: false,
      // We do not implement the DSN extension's NOTIFY/RET (RFC 3461); bounces are always sent.
      hideDSN: true,
      // Proxy protocols let a client claim another address: off everywhere.
      useXClient: false,
      useXForward: false,
      useProxy: false,
      disableReverseLookup: true,
      // Let our own parser (src/address/parse.ts) judge every address form, so routing tricks get
      // their specific reply and count as relay attempts instead of a generic syntax error.
      lenientAddressParsing: true,
      // RFC 5321 §4.5.3.1.4 allows 512 for a command line; AUTH's initial response may be longer.
      maxCommandLength: 4096,
      logger: false,
      [GREETING_POLICY]: greeting(listener),
      ...guarded(hooks(listener)),
    } as SMTPServerOptions;
  }

  const portOf: Record<ListenerName, () => number> = {
    mta: () => settings()['smtp.port'],
    submission: () => settings()['smtp.submissionPort'],
    smtps: () => settings()['smtp.smtpsPort'],
  };

  return {
    name: 'smtpd',
    ports: () => ({ ...bound }),
    async start() {
      const address = settings()['listen.address'];
      for (const listener of ['mta', 'submission', 'smtps'] as const) {
        const configured = portOf[listener]();
        if (configured === 0) continue; // 0 disables the listener
        const port = options.ephemeralPorts ? 0 : configured;
        const server = new SMTPServer(serverOptions(listener));
        server.on('error', (err: Error & { remoteAddress?: string; code?: string }) => {
          // smtp-server reports a failed STARTTLS handshake both from the upgrade and from the
          // socket, as one error object: log it once. A client's error is the client's, not ours.
          if (reported.has(err)) return;
          reported.add(err);
          // A handshake that fails on the implicit-TLS port carries no address, only OpenSSL's code.
          const clientSide = err.remoteAddress !== undefined || /^ERR_(SSL|TLS)_/.test(err.code ?? '');
          if (clientSide) ctx.log.log('info', 'smtp client connection error', { listener, ...(err.remoteAddress ? { client: normalizeIp(err.remoteAddress) } : {}), error: err.message.trim() });
          else ctx.log.log('warn', 'smtp listener error', { listener, error: String(err) });
        });
        await new Promise<void>((resolve, reject) => {
          const onError = (err: Error) => reject(err);
          server.server.once('error', onError);
          server.listen(port, address, () => {
            server.server.off('error', onError);
            resolve();
          });
        });
        bound[listener] = (server.server.address() as AddressInfo).port;
        servers.set(listener, server);
      }
      unwatch = ctx.bus.on('config.changed', () => {
        for (const server of servers.values()) Object.assign(server.options, liveOptions());
      });
    },
    /** Listeners close at once; sessions are told 421 4.3.2, those in DATA after smtp.shutdownGrace (drain.ts). */
    async stop() {
      unwatch?.();
      unwatch = undefined;
      await drainListeners([...servers.values()], settings()['smtp.shutdownGrace'] * 1000);
      servers.clear();
    },
  };
}

/** IP literals that mean this board: the listen address, and loopback when listening on all. */
function boardAddresses(listen: string): string[] {
  if (listen === '0.0.0.0' || listen === '::') return ['127.0.0.1', '::1'];
  return [normalizeIp(listen)];
}
