// (The proxy passes the Host header on: pebble checks the JWS "url" against the URL it was asked at.)
// Stand-ins in front of pebble for the answers pebble never gives: a CA that rate-limits new
// orders (Let's Encrypt's 429 rateLimited problem with Retry-After, RFC 8555 §6.6), and a server
// at the directory URL that answers garbage. Both use pebble's own HTTPS certificate.
import { createServer, request, type Server } from 'node:https';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Pebble } from './pebble.ts';
import type { TestTap } from './firmware.ts';

async function listen(t: TestTap, pebble: Pebble, handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; origin: string }> {
  const server = createServer({ cert: await readFile(pebble.serverCaFile), key: await readFile(pebble.serverKeyFile) }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { server, origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export interface ProxyRule {
  /** Answer this request ourselves instead of passing it on. */
  answer(method: string, path: string): { status: number; headers: Record<string, string>; body: string } | null;
}

/** Pebble behind a proxy that rewrites its URLs to the proxy's and applies `rule`. */
export async function proxiedPebble(t: TestTap, pebble: Pebble, rule: ProxyRule): Promise<{ directory: string; hits: string[] }> {
  const target = new URL(pebble.directory);
  const ca = await readFile(pebble.serverCaFile);
  const hits: string[] = [];
  let origin = '';
  const { origin: o } = await listen(t, pebble, (req, res) => {
    hits.push(`${req.method} ${req.url}`);
    const own = rule.answer(req.method ?? 'GET', req.url ?? '/');
    if (own) {
      res.writeHead(own.status, own.headers);
      res.end(own.body);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers, ca }, (r) => {
        const body: Buffer[] = [];
        r.on('data', (c: Buffer) => body.push(c));
        r.on('end', () => {
          const rewrite = (s: string) => s.split(target.origin).join(origin);
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(r.headers)) if (v !== undefined && k !== 'content-length') headers[k] = Array.isArray(v) ? v.map(rewrite) : rewrite(String(v));
          const text = Buffer.from(rewrite(Buffer.concat(body).toString('latin1')), 'latin1');
          headers['content-length'] = String(text.length);
          res.writeHead(r.statusCode ?? 502, headers);
          res.end(text);
        });
      });
      up.on('error', () => res.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  origin = o;
  return { directory: `${origin}${target.pathname}`, hits };
}

/** A server that answers every request with `body` (garbage where an ACME directory should be). */
export async function garbageServer(t: TestTap, pebble: Pebble, answer: (path: string, origin: string) => { status: number; type: string; body: string }): Promise<string> {
  let origin = '';
  const { origin: o } = await listen(t, pebble, (req, res) => {
    const a = answer(req.url ?? '/', origin);
    res.writeHead(a.status, { 'Content-Type': a.type });
    res.end(req.method === 'HEAD' ? undefined : a.body);
  });
  origin = o;
  return `${origin}/dir`;
}
