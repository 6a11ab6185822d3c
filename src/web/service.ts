// The board's small web listener, an extension (it may fail alone; mail goes on). Features add
// routes (ACME HTTP-01 challenges, the MTA-STS policy, later client autoconfig); each route says
// when it is active, and a listener is open only while an active route or an ACME TLS-ALPN-01
// validation needs it (web.http auto) — an office that uses none of them has no web port open and
// has not even loaded node:http. Requests are GET or HEAD only, bounded in size and time, and
// capped in number of connections (src/web/listeners.ts).
import type { SecureContext } from 'node:tls';
import type { Context, Service } from '../context.ts';
import type { SettingKey } from '../config/schema.ts';
import type { CertificateStore } from '../tls/store.ts';
import type { Listeners } from './listeners.ts';

export type Scheme = 'http' | 'https';

export interface WebRequest {
  readonly method: 'GET' | 'HEAD' | 'POST';
  /** Host header, lower case, without port or trailing dot. */
  readonly host: string;
  /** The path, without the query. */
  readonly path: string;
  /** The query's parameters (the first of each name). */
  readonly query: Readonly<Record<string, string>>;
  /** The body of a POST, read whole up to the route's maxBody (UTF-8). */
  readonly body?: string;
  readonly scheme: Scheme;
  readonly client: string;
}

export interface WebResponse {
  readonly status: number;
  /** Content-Type; text/plain; charset=utf-8 by default. */
  readonly type?: string;
  readonly body?: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface WebRoute {
  /** For logs: what serves this path. */
  readonly name: string;
  /** The listeners the route is served on. */
  readonly schemes: readonly Scheme[];
  /** Whether the route serves right now (a listener it needs opens only then); always by default. */
  active?(): boolean;
  /** A route that takes POST says how large a body it reads (Outlook's Autodiscover); others get none. */
  readonly maxBody?: number;
  match(req: Pick<WebRequest, 'host' | 'path' | 'scheme'>): boolean;
  handle(req: WebRequest): WebResponse | Promise<WebResponse>;
}

/** The certificate for an ACME TLS-ALPN-01 validation of `serverName` (RFC 8737 §3), if one is pending. */
export type AlpnResponder = (serverName: string) => SecureContext | undefined;

export interface WebService extends Service {
  /** Settings read when it starts (the supervisor restarts it when they change). */
  readonly restartOn: readonly SettingKey[];
  /** Add a route; returns the function that removes it. */
  route(route: WebRoute): () => void;
  /** Open or close listeners after a route's `active()` may have changed; resolves once they are. */
  refresh(): Promise<void>;
  /** While set, the HTTPS listener is open and answers "acme-tls/1" handshakes with these certificates. */
  setAlpnResponder(responder: AlpnResponder | null): Promise<void>;
  ports(): Partial<Record<Scheme, number>>;
}

export interface WebOptions {
  certificates: CertificateStore;
  /** Bind free ports instead of web.port/web.tlsPort (tests). */
  ephemeralPorts?: boolean;
}

export function createWebService(ctx: Context, options: WebOptions): WebService {
  const routes: WebRoute[] = [];
  let alpn: AlpnResponder | null = null;
  let listeners: Listeners | null = null;
  let running = false;
  let unwatch: (() => void) | undefined;
  // One reconcile at a time, in order: a route that turns active waits for the listener it needs.
  let chain: Promise<void> = Promise.resolve();

  const isActive = (r: WebRoute) => r.active?.() ?? true;
  const wanted = (): Record<Scheme, boolean> => {
    const s = ctx.store.settings;
    const httpMode = s['web.http'];
    return {
      http: s['web.port'] !== 0 && httpMode !== 'off' && (httpMode === 'always' || routes.some((r) => r.schemes.includes('http') && isActive(r))),
      https: s['web.tlsPort'] !== 0 && (alpn !== null || routes.some((r) => r.schemes.includes('https') && isActive(r))),
    };
  };

  function reconcile(): Promise<void> {
    const run = chain.then(async () => {
      if (!running) return;
      const want = wanted();
      if (!listeners && !want.http && !want.https) return;
      // node:http and node:https (several MiB) are loaded when a first listener is needed.
      if (!listeners) {
        const { createListeners } = await import('./listeners.ts');
        listeners = createListeners(ctx, {
          certificates: options.certificates,
          ephemeralPorts: options.ephemeralPorts ?? false,
          route: (req) => routes.find((r) => r.schemes.includes(req.scheme) && isActive(r) && r.match(req)),
          alpn: () => alpn,
        });
      }
      await listeners.set(want);
    });
    chain = run.catch(() => undefined);
    return run;
  }

  return {
    name: 'web',
    restartOn: ['web.port', 'web.tlsPort'],
    async start() {
      running = true;
      unwatch = ctx.bus.on('config.changed', () => {
        reconcile().catch((err: Error) => ctx.log.log('error', 'web listener: cannot apply the settings', { error: err.message }));
      });
      await reconcile();
    },
    async stop() {
      running = false;
      unwatch?.();
      unwatch = undefined;
      await chain;
      await listeners?.close();
      listeners = null;
    },
    route(route) {
      routes.push(route);
      return () => {
        const i = routes.indexOf(route);
        if (i >= 0) routes.splice(i, 1);
      };
    },
    refresh: reconcile,
    async setAlpnResponder(responder) {
      alpn = responder;
      await reconcile();
    },
    ports() {
      return listeners?.ports() ?? {};
    },
  };
}
