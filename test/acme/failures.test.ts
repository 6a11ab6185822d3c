// Every ACME path that is not a plain issuance, against pebble: a failed challenge, the CA's
// rate-limit answer, a server that answers garbage, and revocation from the CLI. Each failure
// gives a specific log line, state.json entry and alert; the board keeps serving what it had and
// mail goes on.
import t, { type Test } from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repo } from '../support/firmware.ts';
import { freePort } from '../support/ports.ts';
import { board, waitFor, type Board } from './fixtures.ts';
import { startPebble, type Pebble } from '../support/pebble.ts';
import { proxiedPebble, garbageServer } from '../support/acme-proxy.ts';
import { presented } from '../support/tls-probe.ts';
import { run, RawSmtp } from '../support/clients.ts';

async function mailStillFlows(t: Test, b: Board): Promise<void> {
  const c = await RawSmtp.open(b.ports.smtp, '127.0.0.1');
  t.match(await c.reply(), /^220 /, 'the MTA still greets');
  t.match(await c.command('EHLO client.test'), /^250[ -]/);
  c.close();
}

async function selfSignedServed(t: Test, b: Board, pebble: Pebble): Promise<void> {
  const p = await presented(b.ports.smtps, 'implicit', { servername: 'mx.yubin.test', ca: await pebble.root() });
  t.equal(p.issuer, 'mx.yubin.test', 'the self-signed certificate is still served');
  t.notOk(p.authorized);
}

t.test('a failed HTTP-01 challenge: the CA\'s reason in the log, state and alert; backoff; self-signed still served', async (t) => {
  const closed = await freePort(); // pebble validates here, where nothing listens
  const pebble = await startPebble(t, { httpPort: closed, tlsPort: closed });
  const b = await board(t, { 'acme.directory': pebble.directory, 'tls.extraRoots': pebble.serverCaFile });
  const line = await waitFor('the failure logged', () => b.lines.find((l) => l.startsWith('error acme: certificate order failed')));
  t.match(line, /"kind":"challenge"/);
  t.match(line, /http-01 challenge for mx\.yubin\.test failed: .*(refused|connect)/i, line);
  const state = await b.state();
  t.equal(state.lastResult, 'failed');
  t.equal(state.failures, 1);
  t.ok(state.nextAttempt! - Date.now() > 4 * 60_000, 'the next attempt waits the backoff (5 minutes)');
  t.match(b.fw.alerts.active(), [{ kind: 'certificate', severity: 'warning', source: 'acme', text: /could not be obtained .*http-01 challenge for mx\.yubin\.test failed/ }]);
  await selfSignedServed(t, b, pebble);
  await mailStillFlows(t, b);
  const status = await run(process.execPath, [join(repo, 'firmware/yubin.ts'), 'acme', 'status', '--data', b.dataDir]);
  t.match(status.stdout, /certificate: self-signed/);
  t.match(status.stdout, /last attempt: .* failed: http-01 challenge for mx\.yubin\.test failed/);
  t.match(status.stdout, /next attempt: .* \(1 failed in a row\)/);
});

t.test('the CA\'s rate-limit answer: no retry before its Retry-After, said plainly', async (t) => {
  const pebble = await startPebble(t, { httpPort: 1, tlsPort: 1 });
  const proxy = await proxiedPebble(t, pebble, {
    answer: (method, path) => method === 'POST' && path.startsWith('/order-plz')
      ? { status: 429, headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '3600' }, body: JSON.stringify({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many certificates already issued for "yubin.test"', status: 429 }) }
      : null,
  });
  const b = await board(t, { 'acme.directory': proxy.directory, 'tls.extraRoots': pebble.serverCaFile });
  const line = await waitFor('the failure logged', () => b.lines.find((l) => l.startsWith('error acme: certificate order failed')));
  t.match(line, /"kind":"rate-limited"/);
  t.match(line, /rate limited by the CA: too many certificates already issued for \\"yubin\.test\\"; the CA asks to retry after 3600 s/);
  t.equal(proxy.hits.filter((h) => h.startsWith('POST /order-plz')).length, 1, 'one new-order request: no retry inside the request');
  const state = await b.state();
  t.ok(state.nextAttempt! - Date.now() > 3500_000, `the next attempt is an hour away (${Math.round((state.nextAttempt! - Date.now()) / 1000)} s)`);
  t.match(b.fw.alerts.active(), [{ kind: 'certificate', text: /rate limited by the CA/ }]);
  await mailStillFlows(t, b);
});

t.test('an ACME server that answers garbage: a specific log line, nothing crashes', async (t) => {
  const pebble = await startPebble(t, { httpPort: 1, tlsPort: 1 });
  const html = await garbageServer(t, pebble, () => ({ status: 200, type: 'text/html', body: '<html><body>Welcome to nginx!</body></html>' }));
  const b = await board(t, { 'acme.directory': html, 'tls.extraRoots': pebble.serverCaFile });
  const line = await waitFor('the failure logged', () => b.lines.find((l) => l.startsWith('error acme: certificate order failed')));
  t.match(line, /"kind":"garbage"/);
  t.match(line, /the ACME server answered garbage \(HTTP 200 text\/html: <html><body>Welcome to nginx!/);
  await selfSignedServed(t, b, pebble);
  await mailStillFlows(t, b);
  t.equal(b.fw.extensions.status().find((e) => e.name === 'acme')?.state, 'up', 'the acme extension itself stays up (it retries on its own schedule)');

  // A directory that parses, whose nonce endpoint answers without a nonce.
  const noNonce = await garbageServer(t, pebble, (path, origin) => path === '/dir'
    ? { status: 200, type: 'application/json', body: JSON.stringify({ newNonce: `${origin}/nonce`, newAccount: `${origin}/acct`, newOrder: `${origin}/order` }) }
    : { status: 200, type: 'text/plain', body: 'ok' });
  const b2 = await board(t, { 'acme.directory': noNonce, 'tls.extraRoots': pebble.serverCaFile });
  const line2 = await waitFor('the failure logged', () => b2.lines.find((l) => l.startsWith('error acme: certificate order failed')));
  t.match(line2, /"kind":"garbage".*answered garbage.*Failed to get nonce/);
});

t.test('acme revoke from the CLI: pebble marks it revoked, a new certificate is served at once', async (t) => {
  const web = await freePort();
  const pebble = await startPebble(t, { httpPort: web, tlsPort: web });
  const b = await board(t, { 'acme.directory': pebble.directory, 'tls.extraRoots': pebble.serverCaFile }, { web });
  const root = await pebble.root();
  const first = await waitFor('the first certificate', async () => {
    const p = await presented(b.ports.smtps, 'implicit', { servername: 'mx.yubin.test', ca: root });
    return p.authorized && p;
  });
  t.equal(await pebble.status(first.serial), 'Valid');
  const cli = await run(process.execPath, [join(repo, 'firmware/yubin.ts'), 'acme', 'revoke', '--data', b.dataDir], { timeoutMs: 120_000 });
  t.equal(cli.code, 0, cli.stdout + cli.stderr);
  t.match(cli.stdout, /revoked; new certificate issued: serial [0-9A-F]+/);
  t.equal(await pebble.status(first.serial), 'Revoked', 'pebble says the old certificate is revoked');
  const second = await presented(b.ports.smtps, 'implicit', { servername: 'mx.yubin.test', ca: root });
  t.ok(second.authorized);
  t.not(second.serial, first.serial, 'a new certificate is served');
  t.ok(b.lines.some((l) => /^warn acme: certificate revoked; serving the self-signed one until a new one is issued .*"serial":"/.test(l)));
});

t.test('renewal fails past two thirds of the lifetime: the critical expiry alert is raised, the old certificate stays', async (t) => {
  const web = await freePort();
  // 20 s certificates: renewal is due after 13 s; acme.alertDays (1) is then always reached.
  const pebble = await startPebble(t, { httpPort: web, tlsPort: web, validitySeconds: 20 });
  const b = await board(t, { 'acme.directory': pebble.directory, 'tls.extraRoots': pebble.serverCaFile, 'acme.alertDays': 1 }, { web });
  const root = await pebble.root();
  const first = await waitFor('the first certificate', async () => {
    const p = await presented(b.ports.smtps, 'implicit', { servername: 'mx.yubin.test', ca: root });
    return p.authorized && p;
  });
  t.same(b.fw.alerts.active().filter((a) => a.kind === 'certificate-expiry'), [], 'no expiry alert while renewal is not due');
  pebble.stop();
  const alert = await waitFor('the expiry alert', () => b.fw.alerts.active().find((a) => a.kind === 'certificate-expiry'), 30_000);
  t.match(alert, { severity: 'critical', source: 'acme', text: /the certificate for mx\.yubin\.test expires in 0 days .* and renewal has not succeeded/ });
  t.match(b.fw.alerts.active().find((a) => a.kind === 'certificate'), { severity: 'warning', text: /could not be obtained .*cannot reach the ACME server: ECONNREFUSED/ }, 'and the failed renewal itself, with its cause');
  t.equal((await presented(b.ports.smtps, 'implicit', { servername: 'mx.yubin.test', ca: root })).serial, first.serial, 'the certificate it has is still served');
});
