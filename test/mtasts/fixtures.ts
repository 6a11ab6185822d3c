// Real parts for the MTA-STS and TLS-RPT tests: an HTTPS policy server with certificates of the
// test's own CA (chosen per name by SNI), and a second Yubin as a receiving MX with a given
// certificate.
import { createServer } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { tempDir, seed, type TestTap } from '../support/firmware.ts';
import type { Leaf } from '../support/test-ca.ts';
import { startFirmware } from '../../firmware/supervisor.ts';

export interface PolicyAnswer {
  status?: number;
  type?: string;
  body: string;
  headers?: Record<string, string>;
}

export const policyText = (mode: string, mx: string[], maxAge = 86400): string =>
  ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), `max_age: ${maxAge}`, ''].join('\r\n');

/** https://mta-sts.DOMAIN/.well-known/mta-sts.txt for every domain of `answers` (read at each request). */
export async function policyServer(t: TestTap, host: string, answers: Record<string, PolicyAnswer>, certs: { normal: Leaf; byName?: Record<string, Leaf> }): Promise<number> {
  const contexts = new Map<string, SecureContext>(Object.entries(certs.byName ?? {}).map(([n, l]) => [n, createSecureContext({ cert: l.cert, key: l.key })]));
  const normal = createSecureContext({ cert: certs.normal.cert, key: certs.normal.key });
  const server = createServer({ cert: certs.normal.cert, key: certs.normal.key, SNICallback: (name, cb) => cb(null, contexts.get(name) ?? normal) }, (req, res) => {
    const domain = String(req.headers.host ?? '').replace(/^mta-sts\./, '').replace(/:\d+$/, '');
    const a = answers[domain];
    if (!a || req.url !== '/.well-known/mta-sts.txt') {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(a.status ?? 200, { 'Content-Type': a.type ?? 'text/plain', ...a.headers });
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as AddressInfo).port;
}

/** A second Yubin as the receiving MX on host:port, serving `leaf`, with a mailbox bob. */
export async function yubinPeer(t: TestTap, host: string, port: number, leaf: Leaf, domains: string[]): Promise<{ received(): Promise<number> }> {
  const dataDir = await tempDir(t, 'yubin-peer-');
  await seed(dataDir, {
    hostname: `peer-${host}.test`, domains, 'listen.address': host, 'smtp.port': port,
    'smtp.submissionPort': 0, 'smtp.smtpsPort': 0, 'pop3.port': 0, 'pop3.tlsPort': 0, 'web.port': 0, 'web.tlsPort': 0,
    'tls.cert': leaf.certFile, 'tls.key': leaf.keyFile, 'smtp.greetingDelay': 0, trustedNetworks: ['127.0.0.0/8'],
  }, [{ name: 'bob', password: 'bob-password-1' }]);
  const fw = await startFirmware({ dataDir, log: { log: () => undefined } });
  t.teardown(() => fw.stop());
  return { received: () => readdir(join(dataDir, 'mail', 'bob', 'new')).then((f) => f.length, () => 0) };
}
