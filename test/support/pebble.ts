// Let's Encrypt's test CA on loopback, as Debian packages it: pebble (the ACME server) with
// pebble-challtestsrv as its DNS (every A query answers 127.0.0.1, TXT records settable through
// its management API), both on free ports. Pebble validates challenges for real: HTTP-01 on
// httpPort, TLS-ALPN-01 on tlsPort of 127.0.0.1, DNS-01 through whichever DNS server it is given.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { freePortBut } from './ports.ts';
import { tempDir, type TestTap } from './firmware.ts';

const run = promisify(execFile);

export interface PebbleOptions {
  /** Where pebble connects for HTTP-01 (the board's web.port). */
  httpPort: number;
  /** Where pebble connects for TLS-ALPN-01 (the board's web.tlsPort). */
  tlsPort: number;
  /** Lifetime of issued certificates in seconds (pebble's certificateValidityPeriod); 5 years by default. */
  validitySeconds?: number;
  /** DNS server pebble resolves names and DNS-01 records with; challtestsrv by default. */
  dnsServer?: string;
  env?: Record<string, string>;
  /** Further ports handed out but not bound yet (the board's own), which pebble must not take. */
  avoid?: number[];
}

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** PEM file of the certificate pebble's own HTTPS listener uses (trust it: tls.extraRoots). */
  serverCaFile: string;
  /** Its key (a stand-in server in front of pebble can use the same certificate). */
  serverKeyFile: string;
  /** pebble-challtestsrv's DNS server, host:port. */
  dns: string;
  /** The issuing root of this pebble run (it changes every start), PEM. */
  root(): Promise<string>;
  /** Revocation status of a certificate by its hex serial ("Valid" or "Revoked"). */
  status(serial: string): Promise<string>;
  /** Publish a TXT record in challtestsrv (a DNS admin doing what the console flow asks). */
  setTxt(name: string, value: string): Promise<void>;
  /** Everything pebble printed (its log names each validation). */
  output(): string;
  /** The CA goes away (renewals then fail). */
  stop(): void;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function spawnLogged(command: string, args: string[], env: Record<string, string>, log: (s: string) => void): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  child.stdout!.on('data', (d: Buffer) => log(d.toString()));
  child.stderr!.on('data', (d: Buffer) => log(d.toString()));
  return child;
}

export async function startPebble(t: TestTap, options: PebbleOptions): Promise<Pebble> {
  const dir = await tempDir(t, 'yubin-pebble-');
  const serverCaFile = join(dir, 'pebble-tls.pem');
  const serverKey = join(dir, 'pebble-tls.key');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', serverKey, '-out', serverCaFile]);
  const ca = await readFile(serverCaFile, 'utf8');
  // Not the board's web ports: they are only numbers until the board binds them.
  const taken = [options.httpPort, options.tlsPort, ...(options.avoid ?? [])];
  for (let i = 0; i < 4; i++) taken.push(await freePortBut(taken));
  const [dnsPort, dnsMgmt, acmePort, mgmtPort] = taken.slice(-4) as [number, number, number, number];
  let log = '';
  const append = (s: string) => (log = (log + s).slice(-20_000));
  const challtest = spawnLogged('pebble-challtestsrv', [
    '-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '',
    '-management', `127.0.0.1:${dnsMgmt}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
  ], {}, append);
  t.teardown(() => void challtest.kill('SIGKILL'));
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: serverCaFile,
      privateKey: serverKey,
      httpPort: options.httpPort,
      tlsPort: options.tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      ...(options.validitySeconds ? { certificateValidityPeriod: options.validitySeconds } : {}),
    },
  };
  await writeFile(join(dir, 'pebble.json'), JSON.stringify(config));
  const pebble = spawnLogged('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', options.dnsServer ?? `127.0.0.1:${dnsPort}`], {
    PEBBLE_VA_NOSLEEP: '1',
    ...options.env,
  }, append);
  t.teardown(() => void pebble.kill('SIGKILL'));
  const directory = `https://127.0.0.1:${acmePort}/dir`;
  await waitFor('pebble', async () => (await get(directory, ca)).status === 200);
  await waitFor('pebble-challtestsrv', () => new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port: dnsMgmt, path: '/', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.end();
  }));
  const management = `https://127.0.0.1:${mgmtPort}`;
  return {
    directory,
    serverCaFile,
    serverKeyFile: serverKey,
    dns: `127.0.0.1:${dnsPort}`,
    async root() {
      const r = await get(`${management}/roots/0`, ca);
      if (r.status !== 200) throw new Error(`pebble roots/0: HTTP ${r.status}`);
      return r.body;
    },
    async status(serial: string) {
      const hex = serial.toLowerCase().replace(/^0+/, '');
      const r = await get(`${management}/cert-status-by-serial/${hex}`, ca);
      if (r.status !== 200) throw new Error(`pebble cert-status-by-serial/${hex}: HTTP ${r.status} ${r.body}`);
      return (JSON.parse(r.body) as { Status: string }).Status;
    },
    setTxt(name: string, value: string) {
      return new Promise<void>((resolve, reject) => {
        const body = JSON.stringify({ host: name.endsWith('.') ? name : `${name}.`, value });
        const req = httpRequest({ host: '127.0.0.1', port: dnsMgmt, path: '/set-txt', method: 'POST', headers: { 'Content-Length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`set-txt: HTTP ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    output: () => log,
    stop() {
      pebble.kill('SIGKILL');
      challtest.kill('SIGKILL');
    },
  };
}
