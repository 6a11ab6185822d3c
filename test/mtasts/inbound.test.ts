// MTA-STS for the board's own domains (RFC 8461 §3): the policy served over HTTPS for each local
// domain in the mode the admin chose, live; the DNS records `yubin mtasts records` tells the
// admin to publish; and the web listener's bounds (methods, bodies, headers, connections).
import t from 'tap';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { startInProcess, repo } from '../support/firmware.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { run } from '../support/clients.ts';
import { fetchFrom, type Answer, type RequestOptions } from '../support/http.ts';

function get(port: number, host: string, o: RequestOptions & { path?: string } = {}): Promise<Answer> {
  return fetchFrom(port, host, o.path ?? '/.well-known/mta-sts.txt', o);
}

async function waitFor<T>(what: string, check: () => T | undefined | false, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('the policy is served per local domain in the mode the admin sets, live; none closes the listener', async (t) => {
  const fw = await startInProcess(t, { domains: ['yubin.test', 'branch.test'] });
  t.same(fw.web.ports(), {}, 'mtasts.mode none and no ACME: no web port is open');
  fw.ctx.store.stage('mtasts.mode', 'testing');
  await fw.ctx.store.commit();
  const port = await waitFor('the HTTPS listener', () => fw.web.ports().https);
  t.equal(fw.web.ports().http, undefined, 'plain HTTP stays closed (web.http auto, nothing needs it)');
  for (const domain of ['yubin.test', 'branch.test']) {
    const a = await get(port, `mta-sts.${domain}`);
    t.equal(a.status, 200, `mta-sts.${domain} answers`);
    t.equal(a.type, 'text/plain; charset=utf-8');
    t.equal(a.body, 'version: STSv1\r\nmode: testing\r\nmx: mx.yubin.test\r\nmax_age: 604800\r\n');
  }
  t.equal((await get(port, 'mta-sts.elsewhere.test')).status, 404, 'not for a domain that is not local');
  t.equal((await get(port, 'mta-sts.yubin.test', { path: '/' })).status, 404);

  fw.ctx.store.stage('mtasts.mode', 'enforce');
  fw.ctx.store.stage('mtasts.mx', 'mx.yubin.test, *.backup.yubin.test');
  fw.ctx.store.stage('mtasts.maxAge', '86400');
  await fw.ctx.store.commit();
  t.equal((await get(port, 'mta-sts.yubin.test')).body, 'version: STSv1\r\nmode: enforce\r\nmx: mx.yubin.test\r\nmx: *.backup.yubin.test\r\nmax_age: 86400\r\n', 'a new mode and MX list apply at once');

  const status = await fw.hooks.status!();
  t.match(status, /^certificate: self-signed for mx\.yubin\.test until /m, '`show status` names the certificate');
  t.match(status, /^MTA-STS: enforce policy published for 2 domains; honoured for outbound mail; TLS-RPT on$/m);
  t.match(status, /^DANE: off \(no DNSSEC-validating resolver: TLSA records are not looked up\)$/m, 'and says plainly that DANE is off');
  fw.ctx.store.stage('mtasts.mode', 'none');
  await fw.ctx.store.commit();
  await waitFor('the listener closed', () => fw.web.ports().https === undefined);
  t.pass('mode none: the HTTPS listener closed');
});

t.test('the web listener is bounded: GET/HEAD only, no bodies, 8 KiB of headers, web.maxConnections', async (t) => {
  const fw = await startInProcess(t, { 'mtasts.mode': 'testing', 'web.maxConnections': 3 });
  const port = await waitFor('the HTTPS listener', () => fw.web.ports().https);
  t.equal((await get(port, 'mta-sts.yubin.test', { method: 'HEAD' })).status, 200, 'HEAD');
  const post = await get(port, 'mta-sts.yubin.test', { method: 'POST', body: 'x=1' });
  t.equal(post.status, 405, 'POST: 405');
  const put = await get(port, 'mta-sts.yubin.test', { method: 'GET', body: 'abc', headers: { 'Content-Length': '3' } });
  t.equal(put.status, 413, 'a GET with a body: 413');
  const big = await get(port, 'mta-sts.yubin.test', { headers: { 'X-Filler': 'a'.repeat(9000) } }).catch((err: Error) => ({ status: -1, type: '', body: err.message }));
  t.equal(big.status, 431, 'more than 8 KiB of headers: 431');
  const held = await Promise.all([1, 2, 3].map(() => new Promise<ReturnType<typeof tlsConnect>>((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'mta-sts.yubin.test', rejectUnauthorized: false }, () => resolve(s));
    s.once('error', reject);
  })));
  const fourth = await new Promise<string>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'mta-sts.yubin.test', rejectUnauthorized: false }, () => resolve('connected'));
    s.once('error', () => resolve('refused'));
    s.once('close', () => resolve('refused'));
  });
  t.equal(fourth, 'refused', 'a fourth connection is closed at once (web.maxConnections 3)');
  for (const s of held) s.destroy();
  // A client that never finishes its headers is closed after web.requestTimeout.
  fw.ctx.store.stage('web.requestTimeout', '1');
  await fw.ctx.store.commit();
  await new Promise((r) => setTimeout(r, 200)); // config.changed reaches the web listener
  const slow = tlsConnect({ host: '127.0.0.1', port: fw.web.ports().https!, servername: 'mta-sts.yubin.test', rejectUnauthorized: false });
  await new Promise<void>((r) => slow.once('secureConnect', () => r()));
  slow.write('GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.yubin.test\r\n');
  const started = Date.now();
  const answer = await new Promise<string>((resolve) => {
    let got = '';
    slow.on('data', (d: Buffer) => (got += d.toString()));
    slow.once('close', () => resolve(got));
  });
  const took = Date.now() - started;
  t.ok(took >= 900 && took < 3500, `a client that never ends its headers is closed after web.requestTimeout (1 s, live): ${took} ms`);
  t.match(answer, /^HTTP\/1\.1 408 /, `told so (${answer.split('\r\n')[0]})`);
  await new Promise((r) => setTimeout(r, 100));
  t.equal((await get(port, 'mta-sts.yubin.test')).status, 200, 'and the listener serves again once they are gone');
});

t.test('`yubin mtasts records` prints the records to publish and checks them against DNS', async (t) => {
  const dns = await startDnsServer(t, {
    '_mta-sts.yubin.test': { TXT: ['v=STSv1; id=old1'] },
  });
  const fw = await startInProcess(t, { 'mtasts.mode': 'testing', 'dns.servers': [dns.address], domains: ['yubin.test', 'branch.test'] });
  const out = await run(process.execPath, [join(repo, 'firmware/yubin.ts'), 'mtasts', 'records', '--data', fw.ctx.dataDir]);
  t.equal(out.code, 0, out.stderr);
  const id = /_mta-sts\.yubin\.test\. IN TXT "v=STSv1; id=([0-9a-f]{20})"/.exec(out.stdout)?.[1];
  t.ok(id, 'the _mta-sts record with an id derived from the policy');
  t.match(out.stdout, /mta-sts\.yubin\.test\. IN CNAME mx\.yubin\.test\./);
  t.match(out.stdout, /_smtp\._tls\.yubin\.test\. IN TXT "v=TLSRPTv1; rua=mailto:postmaster@yubin\.test"/);
  t.match(out.stdout, new RegExp(`DNS: _mta-sts has id=old1; publish id=${id} so senders fetch the current policy`));
  t.match(out.stdout, /branch\.test:\n[^]*DNS: no _mta-sts record yet/);
  dns.setZone({ '_mta-sts.yubin.test': { TXT: [`v=STSv1; id=${id}`] } });
  const again = await run(process.execPath, [join(repo, 'firmware/yubin.ts'), 'mtasts', 'records', '--data', fw.ctx.dataDir]);
  t.match(again.stdout, /yubin\.test:\n[^]*DNS: _mta-sts is up to date/);
});
