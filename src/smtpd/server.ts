// The SMTP listeners (Postfix's smtpd): MTA on 25, MSA on 587 (STARTTLS) and 465 (implicit TLS).
// Policy enters only through smtp-server's hooks: connect limits, AUTH, MAIL FROM ownership,
// RCPT judged by the relay table (src/policy/relay.ts), DATA streamed to the spool (receive.ts).
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession, type SMTPServerAddress, type SMTPServerAuthentication } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import type { Context, Service } from '../context.ts';
import type { ClientInfo } from '../pipeline/stage.ts';
import { networkSet, normalizeIp } from '../policy/ip.ts';
import { decideRcpt, RELAY_ATTEMPT_REASONS, type RelayClient, type RelaySite } from '../policy/relay.ts';
import { checkSenderOwnership, decideMailFrom } from '../policy/sender.ts';
import { routeRecipient, type Routed } from '../route/route.ts';
import { routeSiteOf } from '../route/site.ts';
import { maildirOf } from '../maildir/maildir.ts';
import { mailboxUsage } from '../maildir/usage.ts';
import { ConnectionLimits } from './limits.ts';
import { keepOwnEnhancedCodes } from './enhanced-codes.ts';
import { greetByPolicy, GREETING_POLICY, type GreetingPolicy } from './greeting.ts';
import { replyError } from './reply.ts';
import { receiveMessage, type ReceiveDeps } from './receive.ts';
import type { HoldService } from '../hold/service.ts';
import { tlsServerOptions } from '../tls/profile.ts';

export type ListenerName = 'mta' | 'submission' | 'smtps';

interface SessionState {
  listener: ListenerName;
  trusted: boolean;
  bad: number;
  authFailures: number;
  rcpts: Array<{ address: string; routes: Routed[] }>;
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
}

export function createSmtpService(ctx: Context, options: SmtpOptions): SmtpService {
  keepOwnEnhancedCodes();
  greetByPolicy();
  const limits = new ConnectionLimits();
  const sessions = new Map<string, SessionState>();
  const servers = new Map<ListenerName, SMTPServer>();
  const bound: Partial<Record<ListenerName, number>> = {};
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
  });

  const routeSite = () => routeSiteOf(ctx);

  const relaySite = (): RelaySite => ({
    role: settings().role,
    localDomains: settings().domains,
    boardAddresses: boardAddresses(settings()['listen.address']),
    recipientExists: (address) => settings().role === 'edge' || routeRecipient(address, routeSite()).length > 0,
  });

  /** Count a refused command; past the limit the session ends with 421 (smtp-server closes on 421). */
  const bad = (state: SessionState, err: Error & { responseCode?: number }): Error => {
    state.bad += 1;
    if (state.bad >= settings()['smtp.maxBadCommands']) return replyError(421, '4.7.0', 'Too many errors, closing connection');
    return err;
  };

  const hooks = (listener: ListenerName): Partial<SMTPServerOptions> => ({
    onConnect(session, callback) {
      const refusal = limits.admit(session.id, session.remoteAddress, settings()['smtp.maxConnections'], settings()['smtp.maxConnectionsPerClient']);
      if (refusal) return callback(Object.assign(new Error(refusal), { responseCode: 421 }));
      sessions.set(session.id, { listener, trusted: isTrusted(session.remoteAddress), bad: 0, authFailures: 0, rcpts: [] });
      // Like Postfix's smtpd_tls_auth_only: AUTH is not even offered until the channel is encrypted.
      if (!session.secure && settings()['smtp.requireTlsForAuth']) session.disabledCommands = ['AUTH'];
      callback();
    },

    onSecure(_socket, session, callback) {
      session.disabledCommands = [];
      callback();
    },

    onClose(session) {
      limits.release(session.id);
      sessions.delete(session.id);
    },

    onAuth(auth: SMTPServerAuthentication, session, callback) {
      const state = sessions.get(session.id);
      if (!state) return callback(replyError(421, '4.3.0', 'Session state lost'));
      const user = auth.username ?? '';
      ctx.users.authenticate(user, auth.password ?? '').then(
        (name) => {
          if (name) return callback(null, { user: name });
          state.authFailures += 1;
          ctx.bus.emit('auth.failed', { service: 'smtp', client: normalizeIp(session.remoteAddress), user });
          // A growing pause after each failure slows guessing without locking out the real user.
          const pause = Math.min(250 * 2 ** state.authFailures, 8000);
          setTimeout(() => callback(bad(state, replyError(535, '5.7.8', 'Authentication credentials invalid'))), pause).unref();
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
      if (sender.action === 'reject') return callback(bad(state, replyError(sender.code, sender.enhanced, sender.text)));
      if (typeof session.user === 'string') {
        const refusal = checkSenderOwnership(text, session.user, ctx.users.addressesOf(session.user), { smtputf8 });
        if (refusal) return callback(bad(state, replyError(refusal.code, refusal.enhanced, refusal.text)));
      }
      callback();
    },

    onRcptTo(address: SMTPServerAddress, session, callback) {
      const state = sessions.get(session.id);
      if (!state) return callback(replyError(421, '4.3.0', 'Session state lost'));
      const max = settings()['smtp.maxRecipients'];
      if (state.rcpts.length >= max) return callback(replyError(452, '4.5.3', `Too many recipients (at most ${max} per message)`));
      const ip = normalizeIp(session.remoteAddress);
      const rcptText = address.address ?? '';
      if (options.hold?.isCancelAddress(rcptText)) {
        // The held-mail notice's cancel address: cancelling is the whole effect, nothing is delivered.
        options.hold.cancelByAddress(rcptText).then(
          (reply) => {
            if (reply.code >= 400) return callback(bad(state, replyError(reply.code, reply.enhanced, reply.text)));
            state.rcpts.push({ address: rcptText, routes: [] });
            callback();
          },
          (err: Error) => callback(replyError(451, '4.3.0', `Could not cancel: ${err.message}`)),
        );
        return;
      }
      const client: RelayClient = {
        address: ip,
        trusted: state.trusted,
        authenticated: typeof session.user === 'string',
        leased: ctx.leases.has(ip),
        smtputf8: session.envelope.mailFrom !== false && session.envelope.mailFrom?.args !== false && session.envelope.mailFrom?.args?.SMTPUTF8 === true,
      };
      const decision = decideRcpt(address.address ?? '', client, relaySite());
      if (decision.action === 'reject') {
        if (RELAY_ATTEMPT_REASONS.has(decision.reason)) {
          ctx.bus.emit('relay.denied', {
            client: ip,
            helo: session.hostNameAppearsAs ?? '',
            from: session.envelope.mailFrom ? (session.envelope.mailFrom.address ?? '') : '',
            rcpt: address.address ?? '',
            reason: decision.reason,
          });
        }
        return callback(bad(state, replyError(decision.code, decision.enhanced, decision.text)));
      }
      const routes = routeRecipient(decision.address, routeSite());
      checkQuota(routes).then(
        (full) => {
          if (full) return callback(replyError(452, '4.2.2', `<${decision.address}>: mailbox full, try again later`));
          state.rcpts.push({ address: decision.address, routes });
          callback();
        },
        (err: Error) => callback(replyError(451, '4.3.0', `Local error checking the mailbox: ${err.message}`)),
      );
    },

    onData(stream, session, callback) {
      const state = sessions.get(session.id);
      if (!state) {
        stream.resume();
        return callback(replyError(421, '4.3.0', 'Session state lost'));
      }
      const client = clientInfo(session, state);
      const outbound = client.user !== null || client.trusted || ctx.leases.has(client.address);
      const tls = session.tlsOptions ? { protocol: session.tlsOptions.version ?? session.tlsOptions.name, cipher: session.tlsOptions.name } : null;
      receiveMessage(
        { ctx, spool: options.spool, stages: options.stages, quarantine: options.quarantine, holdUntil: options.holdUntil, queued: options.queued, sizeCheck: largerThanEveryQuota },
        {
          stream,
          envelope: { mailFrom: session.envelope.mailFrom ? (session.envelope.mailFrom.address ?? '') : '', rcpts: state.rcpts },
          client,
          direction: outbound ? 'outbound' : 'inbound',
          listener,
          tls,
        },
      ).then(
        (outcome) => {
          state.rcpts = [];
          if (outcome.kind === 'refused') return callback(replyError(outcome.code, outcome.enhanced, outcome.text));
          callback(null, `2.0.0 Ok: queued as ${outcome.id}`);
        },
        (err: NodeJS.ErrnoException) => {
          state.rcpts = [];
          stream.resume();
          ctx.log.log('error', 'could not spool message', { error: String(err) });
          if (err.code === 'ENOSPC' || err.code === 'EDQUOT') return callback(replyError(452, '4.3.1', 'Insufficient system storage, try again later'));
          callback(replyError(451, '4.3.0', 'Local error in processing, try again later'));
        },
      );
    },
  });

  /** 552 5.2.2 at DATA when the message cannot fit any recipient's mailbox (RFC 3463 §3.3). */
  function largerThanEveryQuota(size: number, rcpts: Array<{ address: string; routes: Routed[] }>) {
    const routes = rcpts.flatMap((r) => r.routes);
    const fits = routes.some((r) => {
      if (r.route.kind !== 'mailbox') return true;
      const quota = ctx.users.quotaOf(r.route.user);
      return quota === 0 || size <= quota;
    });
    return fits || routes.length === 0 ? null : { code: 552, enhanced: '5.2.2', text: `Message of ${size} bytes is larger than the recipient's mailbox quota` };
  }

  async function checkQuota(routes: Routed[]): Promise<boolean> {
    for (const r of routes) {
      if (r.route.kind !== 'mailbox') continue;
      const quota = ctx.users.quotaOf(r.route.user);
      if (quota > 0 && (await mailboxUsage(maildirOf(ctx.dataDir, r.route.user))) >= quota) return true;
    }
    return false;
  }

  // The early-talker pause is for strangers on port 25 only (smtp.greetingDelay).
  const greeting = (listener: ListenerName): GreetingPolicy => ({
    delayFor: (ip) => (listener === 'mta' && !isTrusted(ip) ? settings()['smtp.greetingDelay'] : 0),
    earlyTalker: (ip) => ctx.bus.emit('smtp.early_talker', { client: normalizeIp(ip), listener }),
  });

  function serverOptions(listener: ListenerName): SMTPServerOptions {
    const s = settings();
    return {
      name: s.hostname,
      banner: 'Yubin',
      secure: listener === 'smtps',
      needsUpgrade: false,
      // Everything smtp-server passes to tls.createSecureContext, for implicit TLS and STARTTLS alike.
      ...tlsServerOptions(options.tls),
      // The MTA takes mail from the world without AUTH; the MSA ports require it (RFC 6409 §4.3).
      authOptional: listener === 'mta',
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: !s['smtp.requireTlsForAuth'],
      size: s['smtp.maxSize'],
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
      // Our onConnect limit (over all listeners) answers first with 421 4.7.0; smtp-server's own
      // check, which has no enhanced code, is only a backstop with room for refusals in flight.
      maxClients: s['smtp.maxConnections'] * 2,
      socketTimeout: s['smtp.socketTimeout'] * 1000,
      closeTimeout: 30_000,
      // RFC 5321 §4.5.3.1.4 allows 512 for a command line; AUTH's initial response may be longer.
      maxCommandLength: 4096,
      logger: false,
      [GREETING_POLICY]: greeting(listener),
      ...hooks(listener),
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
        server.on('error', (err) => ctx.log.log('warn', 'smtp listener error', { listener, error: String(err) }));
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
    },
    async stop() {
      await Promise.all([...servers.values()].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      servers.clear();
    },
  };
}

/** IP literals that mean this board: the listen address, and loopback when listening on all. */
function boardAddresses(listen: string): string[] {
  if (listen === '0.0.0.0' || listen === '::') return ['127.0.0.1', '::1'];
  return [normalizeIp(listen)];
}
