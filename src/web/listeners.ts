// The web listener's sockets: plain HTTP (web.port) and HTTPS (web.tlsPort) with the board's
// certificate. Loaded only when a route needs a listener (src/web/service.ts). Requests are
// bounded: GET and HEAD, POST only to a route that reads a body (up to its maxBody), 8 KiB of headers, web.requestTimeout to send them,
// web.maxConnections per port, 100 requests per connection. An HTTPS connection whose ClientHello
// offers only "acme-tls/1" is an ACME TLS-ALPN-01 validation (RFC 8737) and gets the challenge
// certificate; every other one goes to the HTTPS server untouched.
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Context } from '../context.ts';
import { normalizeIp } from '../net/ip.ts';
import type { CertificateStore } from '../tls/store.ts';
import { MAX_HELLO_RECORD, readClientHello } from './client-hello.ts';
import type { AlpnResponder, Scheme, WebRequest, WebResponse, WebRoute } from './service.ts';

export interface ListenerDeps {
  certificates: CertificateStore;
  ephemeralPorts: boolean;
  route(req: Pick<WebRequest, 'host' | 'path' | 'scheme'>): WebRoute | undefined;
  alpn(): AlpnResponder | null;
}

export interface Listeners {
  /** Open the wanted listeners and close the others; open ones take the current limits. */
  set(want: Record<Scheme, boolean>): Promise<void>;
  ports(): Partial<Record<Scheme, number>>;
  close(): Promise<void>;
}

const MAX_HEADER_BYTES = 8192;
const MAX_URL = 2048;
const KEEP_ALIVE_MS = 5000;
const HELLO_TIMEOUT_MS = 10_000;

/** The whole body up to `max` bytes, or undefined when it is longer (a chunked one is counted as it comes). */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        resolve(undefined);
        req.pause(); // the 413 closes the connection; the rest is never read
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

export function createListeners(ctx: Context, deps: ListenerDeps): Listeners {
  // Taken as CommonJS built-ins: an ES import of node:http builds its whole namespace (undici,
  // http2: MiBs), and the image bundle would hoist it to load time (test/image/bundle.test.ts).
  const { createServer: createHttpServer } = process.getBuiltinModule('node:http');
  const { createServer: createHttpsServer } = process.getBuiltinModule('node:https');
  const open: Partial<Record<Scheme, { front: NetServer | HttpServer; server: HttpServer | HttpsServer; port: number; sockets: Set<Socket>; close(): Promise<void> }>> = {};
  let unwatchCertificate: (() => void) | undefined;

  async function respond(req: IncomingMessage, res: ServerResponse, scheme: Scheme, client: string): Promise<void> {
    const send = (r: WebResponse) => {
      const body = r.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8');
      res.writeHead(r.status, {
        'Content-Type': r.type ?? 'text/plain; charset=utf-8',
        'Content-Length': String(body.length),
        'X-Content-Type-Options': 'nosniff',
        ...r.headers,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') return send({ status: 405, headers: { Allow: 'GET, HEAD' }, body: 'only GET and HEAD\n' });
    const url = req.url ?? '/';
    if (url.length > MAX_URL) return send({ status: 414, body: 'URI too long\n' });
    const q = url.indexOf('?');
    const where = {
      host: (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '').replace(/\.$/, ''),
      path: q < 0 ? url : url.slice(0, q),
      scheme,
    };
    const route = deps.route(where);
    const maxBody = route?.maxBody ?? 0;
    if (method === 'POST' && maxBody === 0) return send({ status: 405, headers: { Allow: 'GET, HEAD' }, body: 'only GET and HEAD\n' });
    // A route that takes no body: one announced is refused before it is read.
    const announced = req.headers['content-length'];
    const hasBody = (announced !== undefined && announced !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && (method !== 'POST' || (announced !== undefined && !(Number(announced) <= maxBody)))) {
      res.shouldKeepAlive = false;
      return send({ status: 413, body: method === 'POST' ? `a body of at most ${maxBody} bytes is accepted\n` : 'no request body is accepted\n' });
    }
    let body: string | undefined;
    if (method === 'POST') {
      body = await readBody(req, maxBody);
      if (body === undefined) {
        res.shouldKeepAlive = false;
        return send({ status: 413, body: `a body of at most ${maxBody} bytes is accepted\n` });
      }
    }
    const query: Record<string, string> = {};
    if (q >= 0) for (const [k, v] of new URLSearchParams(url.slice(q + 1))) if (!(k in query)) query[k] = v;
    const request: WebRequest = { method, ...where, query, ...(body !== undefined ? { body } : {}), client };
    if (!route) return send({ status: 404, body: 'not found\n' });
    let answer: WebResponse;
    try {
      answer = await route.handle(request);
    } catch (err) {
      ctx.log.log('error', 'web route failed', { route: route.name, path: request.path, error: (err as Error).message });
      answer = { status: 500, body: 'internal error\n' };
    }
    send(answer);
  }

  /** web.requestTimeout and web.maxConnections, applied when a listener opens and on every change. */
  function limits(server: HttpServer | HttpsServer, front: NetServer | HttpServer): void {
    const s = ctx.store.settings;
    server.headersTimeout = s['web.requestTimeout'] * 1000;
    server.requestTimeout = s['web.requestTimeout'] * 1000;
    front.maxConnections = s['web.maxConnections'];
  }

  function bound<S extends HttpServer | HttpsServer>(server: S, scheme: Scheme): S {
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    server.maxHeadersCount = 50;
    server.maxRequestsPerSocket = 100;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const client = normalizeIp(req.socket.remoteAddress ?? '');
      respond(req, res, scheme, client).catch(() => res.destroy());
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
    return server;
  }

  /** Hand an accepted HTTPS connection on: the challenge certificate for acme-tls/1, else the server. */
  function dispatchTls(socket: Socket, https: HttpsServer): void {
    const responder = deps.alpn();
    if (!responder) return void https.emit('connection', socket);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const read = readClientHello(buf);
      if (read.kind === 'more' && read.need <= MAX_HELLO_RECORD) return;
      socket.off('data', onData);
      clearTimeout(timer);
      socket.pause();
      socket.unshift(buf);
      const hello = read.kind === 'hello' ? read.hello : null;
      if (hello && hello.alpn.includes('acme-tls/1')) {
        const context = hello.serverName ? responder(hello.serverName) : undefined;
        if (!context) {
          ctx.log.log('warn', 'acme-tls/1 handshake for a name with no pending challenge', { name: hello.serverName });
          return void socket.destroy();
        }
        const tls = new TLSSocket(socket, { isServer: true, secureContext: context, ALPNProtocols: ['acme-tls/1'] });
        tls.on('error', () => socket.destroy());
        tls.once('secure', () => {
          ctx.log.log('info', 'acme tls-alpn-01 validation answered', { name: hello.serverName, client: normalizeIp(socket.remoteAddress ?? '') });
          tls.end();
        });
        return;
      }
      https.emit('connection', socket);
    };
    socket.on('data', onData);
  }

  async function listen(scheme: Scheme): Promise<void> {
    const s = ctx.store.settings;
    const port = deps.ephemeralPorts ? 0 : scheme === 'http' ? s['web.port'] : s['web.tlsPort'];
    const sockets = new Set<Socket>();
    const track = (socket: Socket) => {
      socket.on('error', () => undefined);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    };
    let front: NetServer | HttpServer;
    if (scheme === 'http') {
      // The header timeout is checked every second (Node's default: every 30 s).
      front = bound(createHttpServer({ maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: 1000 }), 'http');
      front.on('connection', track);
    } else {
      const https = bound(createHttpsServer({ maxHeaderSize: MAX_HEADER_BYTES, connectionsCheckingInterval: 1000, ...deps.certificates.contextOptions() }), 'https');
      https.on('tlsClientError', () => undefined);
      unwatchCertificate ??= deps.certificates.onChange(() => {
        const h = open.https?.front as (NetServer & { https?: HttpsServer }) | undefined;
        h?.https?.setSecureContext(deps.certificates.contextOptions());
      });
      // The HTTPS server never listens itself (the front below hands it connections), so its
      // header and request timeouts are started as listen() would start them.
      https.emit('listening');
      // A plain TCP front: it reads the ClientHello first when an ACME TLS-ALPN-01 validation is due.
      front = Object.assign(createNetServer((socket) => {
        track(socket);
        dispatchTls(socket, https);
      }), { https });
    }
    const server = 'https' in front ? (front as NetServer & { https: HttpsServer }).https : (front as HttpServer);
    limits(server, front);
    await new Promise<void>((resolve, reject) => {
      front.once('error', reject);
      front.listen(port, s['listen.address'], () => {
        front.off('error', reject);
        resolve();
      });
    });
    front.on('error', (err) => ctx.log.log('error', 'web listener error', { scheme, error: err.message }));
    const bound_ = (front.address() as AddressInfo).port;
    open[scheme] = {
      front,
      server,
      port: bound_,
      sockets,
      close: () =>
        new Promise<void>((resolve) => {
          front.close(() => resolve());
          if (server !== front) server.close(() => undefined); // ends the HTTPS server's timeout checks
          for (const socket of sockets) socket.destroy();
        }),
    };
    ctx.log.log('info', 'web listening', { scheme, port: bound_ });
  }

  async function closeOne(scheme: Scheme): Promise<void> {
    const l = open[scheme];
    if (!l) return;
    delete open[scheme];
    await l.close();
    if (scheme === 'https') {
      unwatchCertificate?.();
      unwatchCertificate = undefined;
    }
    ctx.log.log('info', 'web listener closed', { scheme });
  }

  return {
    async set(want) {
      for (const scheme of ['http', 'https'] as const) {
        if (want[scheme] && !open[scheme]) {
          try {
            await listen(scheme);
          } catch (err) {
            const e = err as NodeJS.ErrnoException;
            throw new Error(`${scheme === 'http' ? 'web.port' : 'web.tlsPort'}: cannot listen (${e.code ?? e.message})`);
          }
        }
        if (!want[scheme] && open[scheme]) await closeOne(scheme);
        const l = open[scheme];
        if (l) limits(l.server, l.front);
      }
    },
    ports() {
      const out: Partial<Record<Scheme, number>> = {};
      for (const scheme of ['http', 'https'] as const) if (open[scheme]) out[scheme] = open[scheme].port;
      return out;
    },
    async close() {
      await closeOne('http');
      await closeOne('https');
    },
  };
}
