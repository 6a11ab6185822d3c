// The `smtp` delivery agents (Postfix's smtp(8)): remote recipients go to the MX of their domain,
// or through a smarthost, or (internal role) through the edge; the edge passes mail for the local
// domains to the internal server. One session per server address carries every recipient of the
// group; addresses are tried in order until one answers.
import { isIP } from 'node:net';
import type { Context } from '../context.ts';
import type { Deliverer, DeliveryResult } from '../qmgr/deliverer.ts';
import type { QueueEntry } from '../spool/entry.ts';
import { resolverFromSettings, type DnsResolver } from '../dns/resolver.ts';
import { planDelivery, addressesOf, type Exchanger } from './mx.ts';
import type { SessionOptions, TlsMode } from './transaction.ts';
import { queuedMessage, prependBytes } from './message-stream.ts';
import { ConnectionLimiter } from './limiter.ts';

export interface OutboundOptions {
  /** Where the message file of a queue entry is (Spool.messagePath). */
  messagePath: (id: string) => string;
  /** Defaults to the resolver configured by dns.* (made afresh per attempt, so config changes hold). */
  resolver?: () => DnsResolver;
}

/** Where one group goes: the servers to try in order and how to talk to them. */
interface Destination {
  /** Key for the per-destination connection limit (domain or relay hop). */
  key: string;
  exchangers: Exchanger[];
  port: number;
  session: SessionOptions;
}

type Plan = { kind: 'go'; destination: Destination } | { kind: 'fail'; result: DeliveryResult };

export function createOutbound(ctx: Context, options: OutboundOptions): { remote: Deliverer; internal: Deliverer } {
  const store = ctx.store;
  const limiter = new ConnectionLimiter(() => store.get('outbound.maxConnections'), () => store.get('outbound.maxPerDestination'));
  const resolver = options.resolver ?? (() => resolverFromSettings(store));

  function session(tls: TlsMode, auth?: { user: string; pass: string }): SessionOptions {
    const source = store.get('outbound.sourceAddress');
    return {
      heloName: store.get('hostname'),
      tls,
      connectTimeoutMs: store.get('outbound.connectTimeoutMs'),
      greetingTimeoutMs: store.get('outbound.greetingTimeoutMs'),
      socketTimeoutMs: store.get('outbound.socketTimeoutMs'),
      ...(auth ? { auth } : {}),
      ...(source ? { localAddress: source } : {}),
    };
  }

  /** A fixed relay hop named by a config key (host[:port]). */
  async function hop(key: 'relay.internalHost' | 'relay.edgeHost' | 'relay.smarthost', why: string): Promise<Plan> {
    const value = store.get(key);
    if (!value) return { kind: 'fail', result: { status: 'deferred', reply: `451 4.3.5 ${key} is not set: ${why}` } };
    const { host, port } = splitHostPort(value, store.get('outbound.port'));
    const found = await addressesOf(host, resolver());
    if (found.addresses.length === 0) {
      const cause = found.temporary?.message ?? `${host} has no address`;
      return { kind: 'fail', result: { status: 'deferred', reply: `451 4.4.3 ${key} ${host}: ${cause}` } };
    }
    const smarthost = key === 'relay.smarthost';
    const user = smarthost ? store.get('relay.smarthostUser') : '';
    const tls = relayTls(smarthost ? store.get('relay.smarthostTls') : 'opportunistic', user);
    return {
      kind: 'go',
      destination: {
        key: `${key}=${value}`,
        exchangers: [{ name: host, preference: 0, addresses: found.addresses }],
        port,
        session: session(tls, user ? { user, pass: store.get('relay.smarthostPassword') } : undefined),
      },
    };
  }

  async function planRemote(domain: string): Promise<Plan> {
    if (store.get('role') === 'internal') return hop('relay.edgeHost', 'the internal role sends all outbound mail through the edge');
    if (store.get('relay.smarthost')) return hop('relay.smarthost', '');
    const plan = await planDelivery(domain, resolver());
    if (plan.kind === 'fail') return { kind: 'fail', result: { status: plan.permanent ? 'failed' : 'deferred', reply: plan.reply } };
    // RFC 5321 §5.1: when we are one of the exchangers, only more preferred ones may be tried.
    const me = store.get('hostname');
    const own = plan.exchangers.find((x) => x.name === me);
    const exchangers = own ? plan.exchangers.filter((x) => x.preference < own.preference) : plan.exchangers;
    if (exchangers.length === 0) return { kind: 'fail', result: { status: 'failed', reply: `554 5.4.6 ${domain}: mail loops back to this server (${me} is its best MX)` } };
    const tls: TlsMode = store.get('outbound.tlsRequiredDomains').includes(domain) ? 'required' : 'opportunistic';
    return { kind: 'go', destination: { key: domain, exchangers, port: store.get('outbound.port'), session: session(tls) } };
  }

  async function deliverGroup(entry: QueueEntry, indexes: number[], plan: Plan, route: 'remote' | 'internal'): Promise<DeliveryResult[]> {
    // relay=none, as Postfix writes it: no server took part in this outcome.
    if (plan.kind === 'fail') return indexes.map(() => ({ ...plan.result, relay: 'none' }));
    const { destination } = plan;
    const rcpts = indexes.map((i) => entry.rcpts[i]!.address);
    const envelope = { from: entry.mailFrom, to: rcpts, size: entry.size + prependBytes(entry).length };
    // nodemailer's SMTP client (several MiB of RSS) is loaded with the first delivery, not at start.
    const { runSession } = await import('./transaction.ts');
    let lastReply = '451 4.4.1 no server to try';
    for (const exchanger of destination.exchangers) {
      for (const address of exchanger.addresses) {
        const release = await limiter.acquire(destination.key);
        let outcome;
        try {
          outcome = await runSession({ address, port: destination.port, name: exchanger.name }, destination.session, envelope, () =>
            queuedMessage(entry, options.messagePath(entry.id)),
          );
        } finally {
          release();
        }
        if (outcome.kind === 'unreachable') {
          lastReply = outcome.reply;
          ctx.log.log('info', 'outbound server unreachable, trying the next', { queueId: entry.id, server: `${exchanger.name}[${address}]:${destination.port}`, reply: outcome.reply });
          continue;
        }
        outcome.results.forEach((r, k) => {
          if (r.status === 'delivered') ctx.bus.emit('message.delivered', { queueId: entry.id, rcpt: rcpts[k]!, route });
        });
        const relay = `${exchanger.name}[${address}]:${destination.port}`;
        return outcome.results.map((r) => ({ ...r, relay }));
      }
    }
    return indexes.map(() => ({ status: 'deferred', reply: lastReply, relay: 'none' }));
  }

  return {
    remote: {
      async deliver(entry, indexes) {
        const route = entry.rcpts[indexes[0]!]!.route;
        if (route.kind !== 'remote') throw new Error('remote deliverer given a non-remote route');
        return deliverGroup(entry, indexes, await planRemote(route.domain.toLowerCase()), 'remote');
      },
    },
    internal: {
      async deliver(entry, indexes) {
        return deliverGroup(entry, indexes, await hop('relay.internalHost', 'the edge role passes local mail to the internal server'), 'internal');
      },
    },
  };
}

/** The TLS a relay hop gets: with AUTH the password must travel encrypted, so opportunistic becomes required. */
export function relayTls(setting: 'opportunistic' | 'starttls' | 'implicit', user: string): TlsMode {
  return setting === 'implicit' ? 'implicit' : setting === 'starttls' || user ? 'required' : 'opportunistic';
}

/** "host", "host:port", "[v6]", "[v6]:port" → parts; a missing port is `defaultPort`. */
export function splitHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracket) return { host: bracket[1]!, port: bracket[2] ? Number(bracket[2]) : defaultPort };
  if (isIP(value) === 6) return { host: value, port: defaultPort };
  const colon = value.lastIndexOf(':');
  return colon < 0 ? { host: value, port: defaultPort } : { host: value.slice(0, colon), port: Number(value.slice(colon + 1)) };
}
