// The other ACME challenges against pebble: DNS-01 by RFC 2136 update of BIND with a TSIG key
// (unattended), DNS-01 by the console flow (the admin publishes the printed record; here in
// pebble-challtestsrv), and TLS-ALPN-01 on the web listener's HTTPS port, which keeps serving the
// MTA-STS policy to ordinary visitors meanwhile.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'node:https';
import { repo } from '../support/firmware.ts';
import { freePort } from '../support/ports.ts';
import { startPebble } from '../support/pebble.ts';
import { startBind } from '../support/bind.ts';
import { presented } from '../support/tls-probe.ts';
import { board, waitFor } from './fixtures.ts';
import { updateTxt } from '../../src/acme/rfc2136.ts';

t.test('DNS-01 through RFC 2136: the board updates BIND with its TSIG key, pebble checks the TXT record there', async (t) => {
  const bind = await startBind(t, 'yubin.test', ['mx IN A 127.0.0.1']);
  const pebble = await startPebble(t, { httpPort: 1, tlsPort: 1, dnsServer: bind.address });
  const [host, port] = bind.address.split(':') as [string, string];
  const b = await board(t, {
    'acme.directory': pebble.directory, 'tls.extraRoots': pebble.serverCaFile, 'acme.challenge': 'dns-01',
    'acme.dnsServer': bind.address, 'acme.tsigName': bind.tsig.name, 'acme.tsigSecret': bind.tsig.secret, 'acme.dnsWait': 20,
    'dns.servers': [bind.address],
  });
  const root = await pebble.root();
  const served = await waitFor('the DNS-01 certificate', async () => {
    const p = await presented(b.ports.smtps, 'implicit', { servername: 'mx.yubin.test', ca: root });
    return p.authorized && p;
  });
  t.same(served.names, ['mx.yubin.test']);
  t.ok(b.lines.some((l) => /^info acme dns-01: TXT record added by RFC 2136 update .*"owner":"_acme-challenge.mx.yubin.test"/.test(l)));
  t.match(bind.output(), /updating zone 'yubin\.test\/IN': adding an RR at '_acme-challenge\.mx\.yubin\.test' TXT/);
  await waitFor('the record removed again', () => /deleting an RR at '?_acme-challenge\.mx\.yubin\.test'? TXT/.test(bind.output())).catch((err: Error) => {
    t.comment(bind.output());
    throw err;
  });
  t.pass('and removed it after the validation');

  // A wrong secret is refused by BIND, and the signed refusal is read as such.
  const wrong = await updateTxt({ host, port: Number(port), zone: 'yubin.test', tsig: { ...bind.tsig, secret: Buffer.alloc(32, 1).toString('base64') } }, 'add', '_acme-challenge.mx.yubin.test', 'x')
    .then(() => 'accepted', (err: Error) => err.message);
  t.match(wrong, /BADSIG|NOTAUTH/, `a wrong TSIG secret: ${wrong}`);
  const unsigned = await updateTxt({ host, port: Number(port), zone: 'yubin.test' }, 'add', '_acme-challenge.mx.yubin.test', 'x').then(() => 'accepted', (err: Error) => err.message);
  t.match(unsigned, /refused .*REFUSED/, `unsigned: ${unsigned}`);
});

t.test('DNS-01 by the console: `yubin acme renew` prints the TXT record, waits until it is visible, and the running board serves the result', async (t) => {
  const pebble = await startPebble(t, { httpPort: 1, tlsPort: 1 });
  const b = await board(t, {
    'acme.directory': pebble.directory, 'tls.extraRoots': pebble.serverCaFile, 'acme.challenge': 'dns-01', 'acme.dnsWait': 60,
    'dns.servers': [pebble.dns],
  });
  // The running board cannot do it unattended and says so.
  const idle = await waitFor('the unattended attempt', () => b.lines.find((l) => l.startsWith('error acme: certificate order failed')));
  t.match(idle, /dns-01 without acme\.dnsServer cannot run unattended: run `yubin acme renew` at the console/);

  const cli = spawn(process.execPath, [join(repo, 'firmware/yubin.ts'), 'acme', 'renew', '--data', b.dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void cli.kill('SIGKILL'));
  let out = '';
  cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
  cli.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const [, owner, value] = (await waitFor('the record to publish', () => /^\s+(_acme-challenge\.mx\.yubin\.test)\. 60 IN TXT "([A-Za-z0-9_-]{43})"$/m.exec(out), 30_000)) as RegExpExecArray;
  t.pass(`asked to publish ${owner} TXT "${value}"`);
  await new Promise((r) => setTimeout(r, 3000));
  t.notMatch(out, /certificate issued/, 'it waits while the record is not there');
  await pebble.setTxt(owner!, value!);
  const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
  t.equal(code, 0, out);
  t.match(out, /is visible; asking the CA to check it/);
  t.match(out, /certificate issued: mx\.yubin\.test, serial [0-9A-F]+/);
  const serial = /serial ([0-9A-F]+)/.exec(out)![1];
  const root = await pebble.root();
  const served = await waitFor('the running board serving it', async () => {
    const p = await presented(b.ports.smtps, 'implicit', { servername: 'mx.yubin.test', ca: root });
    return p.serial === serial && p;
  }, 15_000);
  t.ok(served.authorized, 'picked up from DATA/acme/live without a restart');
});

function policyOver(port: number, ca: string): Promise<{ status: number; body: string; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername: 'mta-sts.yubin.test', path: '/.well-known/mta-sts.txt', headers: { Host: 'mta-sts.yubin.test' }, ca, rejectUnauthorized: false, agent: false }, (res) => {
      const authorized = (res.socket as import('node:tls').TLSSocket).authorized;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, authorized }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('TLS-ALPN-01: pebble validates on the HTTPS port; ordinary HTTPS visitors are served as before', async (t) => {
  const webTls = await freePort();
  const pebble = await startPebble(t, { httpPort: 1, tlsPort: webTls });
  const b = await board(t, { 'acme.directory': pebble.directory, 'tls.extraRoots': pebble.serverCaFile, 'acme.challenge': 'tls-alpn-01', 'mtasts.mode': 'testing', 'web.http': 'off' }, { webTls });
  const before = await policyOver(webTls, '');
  t.equal(before.status, 200, 'the policy is served (self-signed) before issuance');
  const root = await pebble.root();
  const served = await waitFor('the TLS-ALPN-01 certificate', async () => {
    const p = await presented(b.ports.smtps, 'implicit', { servername: 'mx.yubin.test', ca: root });
    return p.authorized && p;
  });
  t.same(served.names.sort(), ['mta-sts.yubin.test', 'mx.yubin.test']);
  t.ok(b.lines.filter((l) => l.startsWith('info acme tls-alpn-01 validation answered')).length >= 2, 'both names validated over acme-tls/1');
  t.equal(b.fw.web.ports().http, undefined, 'port 80 was never needed');
  const after = await policyOver(webTls, root);
  t.ok(after.authorized && after.status === 200, 'the MTA-STS endpoint now validates');
});
