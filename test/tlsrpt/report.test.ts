// Done means: mail to an enforce domain whose MX hosts offer no valid TLS is deferred, never sent
// in the clear, and the TLS-RPT report for that day (RFC 8460) names each failure. The firmware
// runs as the board does; the report goes by mail, gzip'd JSON, to the domain's rua.
import t from 'tap';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { startDnsServer } from '../support/dns-server.ts';
import { makeTestCa } from '../support/test-ca.ts';
import { tempDir, seed, repo, BASE_SETTINGS } from '../support/firmware.ts';
import { run, RawSmtp } from '../support/clients.ts';
import { commonFreePort, startPeer, waitFor } from '../outbound/fixtures/harness.ts';
import { startFirmware, openContext } from '../../firmware/supervisor.ts';
import { tlsReportRecorder } from '../../firmware/queue-station.ts';
import { createTlsReportService } from '../../src/tlsrpt/service.ts';
import { Spool } from '../../src/spool/spool.ts';
import { queuedIds } from '../../src/qmgr/files.ts';
import { policyServer, policyText, yubinPeer } from '../mtasts/fixtures.ts';

const POLICY = '127.0.0.50';
const MX1 = '127.0.0.52'; // no STARTTLS
const MX2 = '127.0.0.53'; // an expired certificate
const REPORTS = '127.0.0.54';

t.test('an enforce domain with no valid TLS on its MX hosts: deferred, nothing in the clear, and that day\'s TLS report names both failures', async (t) => {
  const ca = await makeTestCa(t);
  const dayAgo = new Date(Date.now() - 86_400_000);
  const [policyCert, expired] = await Promise.all([
    ca.issue(['mta-sts.dest.test']),
    ca.issue(['mx2.dest.test'], { notBefore: new Date(Date.now() - 30 * 86_400_000), notAfter: dayAgo }),
  ]);
  const dns = await startDnsServer(t, {
    'dest.test': { MX: [{ preference: 10, exchange: 'mx1.dest.test' }, { preference: 20, exchange: 'mx2.dest.test' }] },
    'mx1.dest.test': { A: [MX1] },
    'mx2.dest.test': { A: [MX2] },
    'mta-sts.dest.test': { A: [POLICY] },
    '_mta-sts.dest.test': { TXT: ['v=STSv1; id=1'] },
    '_smtp._tls.dest.test': { TXT: ['v=TLSRPTv1; rua=mailto:tls-reports@reports.test'] },
    'reports.test': { MX: [{ preference: 10, exchange: 'mx.reports.test' }] },
    'mx.reports.test': { A: [REPORTS] },
  });
  const policyPort = await policyServer(t, POLICY, { 'dest.test': { body: policyText('enforce', ['*.dest.test']) } }, { normal: policyCert });
  const port = await commonFreePort([MX1, MX2, REPORTS]);
  const mx1 = await startPeer(t, MX1, port, { noTls: true });
  const mx2 = await yubinPeer(t, MX2, port, expired, ['dest.test']);
  const reports = await startPeer(t, REPORTS, port);

  const dataDir = await tempDir(t);
  await seed(dataDir, {
    ...BASE_SETTINGS,
    'dns.servers': [dns.address], 'dns.timeoutMs': 1000,
    'outbound.port': port, 'outbound.connectTimeoutMs': 3000,
    'tls.extraRoots': ca.rootFile, 'mtasts.policyPort': policyPort,
  }, [{ name: 'alice', password: 'alice-password-1' }]);
  const lines: string[] = [];
  const fw = await startFirmware({ dataDir, ephemeralPorts: true, log: { log: (l, m, f) => lines.push(`${l} ${m} ${JSON.stringify(f ?? {})}`) } });
  t.teardown(() => fw.stop());
  t.teardown(() => {
    if (!t.passing()) t.comment(lines.join('\n'));
  });

  const c = await RawSmtp.open(fw.ports().smtp!);
  await c.reply();
  await c.command('EHLO pc.yubin.test');
  await c.command('MAIL FROM:<alice@yubin.test>');
  t.match(await c.command('RCPT TO:<bob@dest.test>'), /^250 /);
  await c.command('DATA');
  c.send('Subject: quarterly figures\r\n\r\nconfidential\r\n.\r\n');
  t.match(await c.reply(), /^250 /);
  c.close();

  const queued = async () => (await Promise.all((await queuedIds(fw.spool)).map((id) => fw.spool.load(id))))[0];
  await waitFor('the first attempt', async () => ((await queued())?.rcpts[0]!.attempts ?? 0) >= 1, 15_000);
  const deferred = (await queued())!;
  t.equal(deferred.rcpts[0]!.status, 'pending', 'deferred');
  t.match(deferred.rcpts[0]!.lastReply, /^451 4\.7\.5 mx2\.dest\.test \[127\.0\.0\.53\]: certificate not valid for mx2\.dest\.test \(certificate has expired\); the MTA-STS policy of dest\.test \(enforce\) requires a valid one/);
  t.equal(mx1.received.length, 0, 'the MX without STARTTLS got nothing');
  t.equal(await mx2.received(), 0, 'nor did the one with the expired certificate');

  const yubin = (...args: string[]) => run(process.execPath, [join(repo, 'firmware/yubin.ts'), ...args, '--data', dataDir]);
  await waitFor('the day\'s record on disk', async () => /dest\.test \(sts\): 0 ok, 2 failed/.test((await yubin('tlsrpt', 'show', '--day', 'today')).stdout), 15_000);
  const shown = (await yubin('tlsrpt', 'show', '--day', 'today')).stdout;
  t.match(shown, /1 × starttls-not-supported mx1\.dest\.test \[127\.0\.0\.52\]/);
  t.match(shown, /1 × certificate-expired mx2\.dest\.test \[127\.0\.0\.53\]: certificate has expired/);

  const sent = await yubin('tlsrpt', 'send', '--day', 'today');
  t.match(sent.stdout, /^dest\.test: mail to tls-reports@reports\.test: queued as [0-9A-Z]+$/m, sent.stdout + sent.stderr);
  await waitFor('the report delivered to the rua', () => reports.received.length === 1, 20_000);
  const mail = reports.received[0]!;
  t.equal(mail.from, '', 'sent from the null sender (a report never bounces)');
  t.same(mail.to, ['tls-reports@reports.test']);
  t.match(mail.data, /^TLS-Report-Domain: dest\.test\r$/m);
  t.match(mail.data, /^TLS-Report-Submitter: mx\.yubin\.test\r$/m);
  t.match(mail.data, /^Subject: Report Domain: dest\.test Submitter: mx\.yubin\.test Report-ID: </m);
  t.match(mail.data, /^Content-Type: multipart\/report; report-type="tlsrpt"/m);
  const attachment = /Content-Type: application\/tlsrpt\+gzip\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="mx\.yubin\.test!dest\.test!(\d+)!(\d+)\.json\.gz"\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n\r\n--/.exec(mail.data);
  t.ok(attachment, 'a gzip attachment named as RFC 8460 §5.3.1 says');
  const report = JSON.parse(gunzipSync(Buffer.from(attachment![3]!.replace(/\r\n/g, ''), 'base64')).toString('utf8')) as {
    'date-range': { 'start-datetime': string; 'end-datetime': string };
    policies: Array<{ policy: Record<string, unknown>; summary: Record<string, number>; 'failure-details': Array<Record<string, unknown>> }>;
  };
  const today = new Date().toISOString().slice(0, 10);
  t.same(report['date-range'], { 'start-datetime': `${today}T00:00:00Z`, 'end-datetime': `${today}T23:59:59Z` });
  t.same(report.policies[0]!.policy, { 'policy-type': 'sts', 'policy-domain': 'dest.test', 'policy-string': ['version: STSv1', 'mode: enforce', 'mx: *.dest.test', 'max_age: 86400'], 'mx-host': ['*.dest.test'] });
  t.same(report.policies[0]!.summary, { 'total-successful-session-count': 0, 'total-failure-session-count': 2 });
  t.match(report.policies[0]!['failure-details'], [
    { 'result-type': 'starttls-not-supported', 'receiving-mx-hostname': 'mx1.dest.test', 'receiving-ip': MX1, 'failed-session-count': 1 },
    { 'result-type': 'certificate-expired', 'receiving-mx-hostname': 'mx2.dest.test', 'receiving-ip': MX2, 'failed-session-count': 1, 'failure-reason-code': 'certificate has expired' },
  ]);
  const again = await yubin('tlsrpt', 'send', '--day', 'today');
  t.match(again.stdout, /no report to send/, 'a day\'s report is sent once');
});

t.test('after midnight UTC the sender reports the previous day by itself, once, and drops days older than 30', async (t) => {
  const dns = await startDnsServer(t, { '_smtp._tls.dest.test': { TXT: ['v=TLSRPTv1; rua=mailto:tls-reports@yubin.test'] } });
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'dns.servers': [dns.address], 'dns.timeoutMs': 1000 }, [{ name: 'tls-reports', password: 'reports-password-1' }]);
  const ctx = await openContext({ dataDir, log: { log: () => undefined } });
  t.teardown(() => ctx.store.close());
  const recorder = tlsReportRecorder(ctx);
  const yesterday = Date.now() - 86_400_000;
  await recorder.record({ type: 'no-policy-found', domain: 'dest.test' }, null, yesterday);
  await recorder.record({ type: 'no-policy-found', domain: 'dest.test' }, { type: 'starttls-not-supported', receivingMx: 'mx.dest.test' }, yesterday);
  await recorder.record({ type: 'no-policy-found', domain: 'dest.test' }, null, Date.now() - 40 * 86_400_000);
  await recorder.flush();
  const spool = new Spool(dataDir);
  const injected: string[] = [];
  const service = createTlsReportService({ ctx, recorder, spool, enqueue: (id) => injected.push(id), firstCheckMs: 50 });
  await service.start();
  t.teardown(() => service.stop());
  await waitFor('yesterday\'s report queued', () => injected.length === 1, 10_000);
  const entry = await spool.load(injected[0]!);
  t.same(entry.rcpts.map((r) => r.address), ['tls-reports@yubin.test']);
  t.equal(entry.mailFrom, '');
  t.same(await recorder.recordedDays(), [new Date(yesterday).toISOString().slice(0, 10)], 'the 40-day-old record is gone');
  await service.stop();
  const again = createTlsReportService({ ctx, recorder, spool, enqueue: (id) => injected.push(id), firstCheckMs: 50 });
  await again.start();
  await new Promise((r) => setTimeout(r, 500));
  await again.stop();
  t.equal(injected.length, 1, 'a restart does not send it again');
});
