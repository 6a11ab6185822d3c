// MTA-STS for outbound mail (RFC 8461 §5), against real parts: the test's DNS server with the
// _mta-sts records, an HTTPS policy server with a certificate of the test's own CA, receiving
// Yubins whose certificates are valid, for another name, or expired, and an SMTP server
// (smtp-server) that offers no STARTTLS. enforce never sends in the clear nor to an unlisted or
// unauthenticated MX; testing and none deliver; bad policies are logged and fail open.
import t, { type Test } from 'tap';
import { startDnsServer, type Zone } from '../support/dns-server.ts';
import { makeTestCa } from '../support/test-ca.ts';
import { commonFreePort, makeContext, startPeer, startStation, queueMessage, waitFor, mailboxOf, type Station } from '../outbound/fixtures/harness.ts';
import type { Context } from '../../src/context.ts';
import { policyServer, policyText, yubinPeer, type PolicyAnswer } from './fixtures.ts';

const POLICY = '127.0.0.40';
const GOOD = '127.0.0.41';
const PLAIN = '127.0.0.42';
const WRONGNAME = '127.0.0.43';
const EXPIRED = '127.0.0.44';

const policy = policyText;

/** Domains of the test and what their policy host answers. */
const answers: Record<string, PolicyAnswer> = {
  'good.test': { body: policy('enforce', ['mx.good.test']) },
  'plain.test': { body: policy('enforce', ['*.plain.test']) },
  'wrongname.test': { body: policy('enforce', ['mx.wrongname.test']) },
  'expired.test': { body: policy('enforce', ['mx.expired.test']) },
  'unlisted.test': { body: policy('enforce', ['mx.elsewhere.test']) },
  'testing.test': { body: policy('testing', ['mx.testing.test']) },
  'nonemode.test': { body: policy('none', ['mx.nonemode.test']) },
  'skip.test': { body: policy('enforce', ['mx.skip.test']) },
  'v2.test': { body: policy('enforce', ['mx.v2.test']).replace('STSv1', 'STSv2') },
  'nomode.test': { body: 'version: STSv1\r\nmx: mx.nomode.test\r\nmax_age: 86400\r\n' },
  'big.test': { body: policy('enforce', ['mx.big.test']) + `# ${'x'.repeat(70 * 1024)}\r\n` },
  'html.test': { type: 'text/html', body: policy('enforce', ['mx.html.test']) },
  'redirect.test': { status: 301, headers: { Location: 'https://elsewhere.test/policy.txt' }, body: '' },
  'badcert.test': { body: policy('enforce', ['mx.badcert.test']) },
  'cached.test': { body: policy('enforce', ['mx.cached.test']) },
};

function zone(): Zone {
  const z: Zone = {};
  const mxOf: Record<string, [string, string]> = {
    'good.test': ['mx.good.test', GOOD], 'wrongname.test': ['mx.wrongname.test', WRONGNAME], 'expired.test': ['mx.expired.test', EXPIRED], 'unlisted.test': ['mx.good.test', GOOD],
  };
  for (const domain of Object.keys(answers)) {
    const [mx, ip] = mxOf[domain] ?? [`mx.${domain}`, PLAIN];
    z[domain] = { MX: [{ preference: 10, exchange: mx }] };
    z[mx] = { A: [ip] };
    z[`mta-sts.${domain}`] = { A: [POLICY] };
    z[`_mta-sts.${domain}`] = { TXT: ['v=STSv1; id=20260101'] };
  }
  return z;
}

interface Setup extends Station {
  lines: string[];
  good: { received(): Promise<number> };
  plain: Awaited<ReturnType<typeof startPeer>>;
  dns: Awaited<ReturnType<typeof startDnsServer>>;
}

async function setup(t: Test, extra: Record<string, string> = {}): Promise<Setup> {
  const ca = await makeTestCa(t);
  const policyNames = Object.keys(answers).filter((d) => d !== 'badcert.test').map((d) => `mta-sts.${d}`);
  const [normal, expiredPolicy, goodMx, wrongMx, expiredMx] = await Promise.all([
    ca.issue(policyNames),
    ca.issue(['mta-sts.badcert.test'], { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) }),
    ca.issue(['mx.good.test']),
    ca.issue(['mx.other.test']),
    ca.issue(['mx.expired.test'], { notBefore: new Date(Date.now() - 10 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) }),
  ]);
  const dns = await startDnsServer(t, zone());
  const policyPort = await policyServer(t, POLICY, answers, { normal, byName: { 'mta-sts.badcert.test': expiredPolicy } });
  const port = await commonFreePort([GOOD, PLAIN, WRONGNAME, EXPIRED]);
  const base = await makeContext(t, {
    hostname: 'yubin.office.test', domains: 'office.test',
    'dns.servers': dns.address, 'dns.timeoutMs': '1000',
    'outbound.port': String(port), 'outbound.connectTimeoutMs': '3000',
    'tls.extraRoots': ca.rootFile, 'mtasts.policyPort': String(policyPort), 'mtasts.fetchTimeout': '5',
    ...extra,
  });
  const lines: string[] = [];
  const ctx: Context = { ...base, log: { log: (level, message, fields) => lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`) } };
  await ctx.users.add('alice', 'correct horse battery');
  const domains = Object.keys(answers);
  const good = await yubinPeer(t, GOOD, port, goodMx, domains);
  await yubinPeer(t, WRONGNAME, port, wrongMx, domains);
  await yubinPeer(t, EXPIRED, port, expiredMx, domains);
  const plain = await startPeer(t, PLAIN, port, { noTls: true });
  const station = await startStation(t, ctx);
  t.teardown(() => {
    if (!t.passing()) t.comment(lines.join('\n'));
  });
  return { ...station, lines, good, plain, dns };
}

async function attempt(s: Station, to: string, o: { received?: number } = {}): Promise<{ status: string; lastReply: string; id: string }> {
  const entry = await queueMessage(s.ctx, s.spool, { to: [to], ...o });
  s.qmgr.enqueue(entry.id);
  // Delivered entries leave the queue; others record their attempt.
  const load = () => s.spool.load(entry.id).catch(() => null);
  await waitFor(`an attempt for ${to}`, async () => {
    const e = await load();
    return e === null || e.rcpts[0]!.attempts >= 1;
  });
  const left = await load();
  return { status: left?.rcpts[0]!.status ?? 'delivered', lastReply: left?.rcpts[0]!.lastReply ?? '', id: entry.id };
}

t.test('enforce: delivered over TLS to a listed MX whose certificate is valid for its name', async (t) => {
  const s = await setup(t);
  const r = await attempt(s, 'bob@good.test');
  t.equal(r.status, 'delivered');
  await waitFor('the peer Yubin has it', async () => (await s.good.received()) === 1);
  t.ok(s.lines.some((l) => /^info mtasts: policy fetched .*"domain":"good.test".*"mode":"enforce"/.test(l)), 'the policy was fetched and logged');
});

t.test('enforce: an MX without STARTTLS gets nothing; deferred 4.7.10, and the delay DSN says why', async (t) => {
  const s = await setup(t);
  const r = await attempt(s, 'bob@plain.test', { received: Date.now() - 5 * 3600_000 });
  t.equal(r.status, 'pending', 'deferred, not failed');
  t.match(r.lastReply, /^451 4\.7\.10 mx\.plain\.test \[127\.0\.0\.42\] offered no STARTTLS \(.*\); the MTA-STS policy of plain\.test \(enforce\) requires TLS, so nothing was sent in the clear$/, r.lastReply);
  t.equal(s.plain.received.length, 0, 'nothing reached the server in the clear');
  await waitFor('the delay DSN', async () => (await mailboxOf(s.ctx, 'alice')).length === 1);
  const [dsn] = await mailboxOf(s.ctx, 'alice');
  t.match(dsn, /Action: delayed\r\nStatus: 4\.7\.10\r\n/);
  t.match(dsn, /Diagnostic-Code: smtp; 451 4\.7\.10 mx\.plain\.test \[127\.0\.0\.42\] offered no STARTTLS .*MTA-STS policy of plain\.test \(enforce\) requires TLS/);
});

t.test('enforce: a certificate for another name or an expired one is refused (4.7.5), nothing sent', async (t) => {
  const s = await setup(t);
  const wrong = await attempt(s, 'bob@wrongname.test');
  t.equal(wrong.status, 'pending');
  t.match(wrong.lastReply, /^451 4\.7\.5 mx\.wrongname\.test \[127\.0\.0\.43\]: certificate not valid for mx\.wrongname\.test \(.*(altnames|does not match).*\); the MTA-STS policy of wrongname\.test \(enforce\) requires a valid one$/, wrong.lastReply);
  const expired = await attempt(s, 'bob@expired.test');
  t.equal(expired.status, 'pending');
  t.match(expired.lastReply, /^451 4\.7\.5 mx\.expired\.test \[127\.0\.0\.44\]: certificate not valid for mx\.expired\.test \(certificate has expired\)/, expired.lastReply);
});

t.test('enforce: an MX the policy does not list is not tried at all', async (t) => {
  const s = await setup(t);
  const r = await attempt(s, 'bob@unlisted.test');
  t.equal(r.status, 'pending');
  t.equal(r.lastReply, '451 4.7.5 unlisted.test: no MX host (mx.good.test) matches its MTA-STS policy (enforce; mx: mx.elsewhere.test); not sent');
  t.equal(await s.good.received(), 0);
});

t.test('testing and none: delivered even in the clear (the failure is only reported)', async (t) => {
  const s = await setup(t);
  t.equal((await attempt(s, 'bob@testing.test')).status, 'delivered');
  t.equal((await attempt(s, 'bob@nonemode.test')).status, 'delivered');
  t.same(s.plain.received.map((m) => [m.to[0], m.secure]), [['bob@testing.test', false], ['bob@nonemode.test', false]]);
});

t.test('mtasts.skipDomains: the admin\'s override delivers to a domain whose policy would defer', async (t) => {
  const s = await setup(t, { 'mtasts.skipDomains': 'skip.test' });
  t.equal((await attempt(s, 'bob@skip.test')).status, 'delivered');
  t.notOk(s.lines.some((l) => /"domain":"skip.test"/.test(l)), 'its policy was not even fetched');
});

t.test('bad policies: each logged with its reason, and without a cached policy delivery fails open (RFC 8461 §5)', async (t) => {
  const s = await setup(t);
  const reasons: Record<string, RegExp> = {
    'v2.test': /"failure":"sts-policy-invalid","reason":"invalid policy: version is \\"STSv2\\", not STSv1"/,
    'nomode.test': /"failure":"sts-policy-invalid","reason":"invalid policy: no mode field"/,
    'big.test': /"failure":"sts-policy-invalid","reason":"body (of \d+ bytes, more|larger) than the 65536 bytes? allowed/,
    'html.test': /"failure":"sts-policy-invalid","reason":"Content-Type text\/html, not text\/plain/,
    'redirect.test': /"failure":"sts-policy-fetch-error","reason":"HTTP 301 redirect to https:\/\/elsewhere\.test\/policy\.txt \(redirects are not followed/,
    'badcert.test': /"failure":"sts-webpki-invalid","reason":"the certificate of mta-sts\.badcert\.test is not valid: certificate has expired"/,
  };
  for (const [domain, reason] of Object.entries(reasons)) {
    t.equal((await attempt(s, `bob@${domain}`)).status, 'delivered', `${domain}: delivered as without a policy`);
    const line = s.lines.find((l) => l.startsWith('warn mtasts: policy fetch failed') && l.includes(`"domain":"${domain}"`));
    t.match(line, reason, `${domain}: ${line}`);
  }
});

t.test('a cached enforce policy holds when a new id brings a broken policy: still never in the clear', async (t) => {
  const s = await setup(t);
  t.match((await attempt(s, 'bob@cached.test')).lastReply, /^451 4\.7\.10 /);
  // The domain (or an attacker on the path) changes the id and serves garbage.
  answers['cached.test'] = { type: 'text/html', body: '<html>hijacked</html>' };
  const z = zone();
  z['_mta-sts.cached.test'] = { TXT: ['v=STSv1; id=20260202'] };
  s.dns.setZone(z);
  const again = await attempt(s, 'bob@cached.test');
  t.match(again.lastReply, /^451 4\.7\.10 .*MTA-STS policy of cached\.test \(enforce\)/, 'still enforced');
  t.ok(s.lines.some((l) => /^warn mtasts: policy fetch failed; the cached policy still applies .*"domain":"cached.test"/.test(l)));
  t.equal(s.plain.received.length, 0, 'nothing went out in the clear');
});
