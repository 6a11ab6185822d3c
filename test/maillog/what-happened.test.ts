// "What happened to my mail?" asked the way an office admin asks it, of `yubin start` as it runs:
// a LAN PC's message to a remote domain (sent), a stranger's relay attempt (rejected at RCPT), spam
// for a local user (quarantined) and a message the remote server puts off (deferred). The log file
// has exactly one delivery line per recipient, in the format docs/LOGGING.md documents (parsed
// here with the same logfmt reader), `yubin trace` tells each story, and `show status` counts
// what the log says.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startChild, seed, tempDir, BASE_SETTINGS, repo } from '../support/firmware.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { run } from '../support/clients.ts';
import { sendMessage } from '../faults/fixtures/mail.ts';
import { commonFreePort, startPeer } from '../outbound/fixtures/harness.ts';
import { parseLogfmt } from '../../src/log/logger.ts';

const LAN_PC = '127.0.0.10';
const STRANGER = '127.0.0.66';
const DEST_MX = '127.0.0.20';
const LATER_MX = '127.0.0.21';

const dns = await startDnsServer(t, {
  'dest.test': { MX: [{ preference: 10, exchange: 'mx.dest.test' }] },
  'mx.dest.test': { A: [DEST_MX] },
  'later.test': { MX: [{ preference: 10, exchange: 'mx.later.test' }] },
  'mx.later.test': { A: [LATER_MX] },
});
const port = await commonFreePort([DEST_MX, LATER_MX]);
const dest = await startPeer(t, DEST_MX, port);
// The remote server of later.test puts every recipient off: the reason must reach the log and the trace.
await startPeer(t, LATER_MX, port, { rcpt: () => '451 4.3.0 Greylisted, try again in 5 minutes' });

const dataDir = await tempDir(t);
await seed(dataDir, {
  ...BASE_SETTINGS,
  trustedNetworks: ['127.0.0.1/32', `${LAN_PC}/32`],
  'smtp.greetingDelay': 0,
  'dns.servers': [dns.address],
  'dns.timeoutMs': 1000,
  'outbound.port': port,
}, [{ name: 'alice', password: 'alice-password-1' }]);
const fw = await startChild(dataDir);
t.teardown(async () => {
  fw.child.kill('SIGTERM');
  await fw.exited;
});
const smtp = fw.ports.smtp!;
const yubin = (...args: string[]) => run(process.execPath, [join(repo, 'firmware/yubin.ts'), '--data', dataDir, ...args]);
const queuedAs = (reply: string) => /queued as (\S+)/.exec(reply)?.[1];

const sent = queuedAs(await sendMessage({ port: smtp, local: LAN_PC, from: 'alice@yubin.test', to: 'bob@dest.test', message: 'From: alice@yubin.test\r\nSubject: minutes\r\nMessage-ID: <m1@pc>\r\nDate: Mon, 1 Jun 2025 10:00:00 +0000\r\n\r\nThe minutes.\r\n' }));
const relay = await sendMessage({ port: smtp, local: STRANGER, from: 'spammer@outside.test', to: 'victim@elsewhere.test', message: 'Subject: x\r\n\r\nx\r\n' });
const spam = queuedAs(await sendMessage({
  port: smtp,
  local: STRANGER,
  from: 'promo@outside.test',
  to: 'alice@yubin.test',
  message: 'From: "paypal@paypal.com" <promo@outside.test>\r\nSubject: CLICK HERE!!! 100% FREE CASINO\r\nDate: Mon, 1 Jun 2025 10:00:00 +0000\r\n\r\nWin now: http://bit.ly/win\r\n',
}));
const later = queuedAs(await sendMessage({ port: smtp, local: LAN_PC, from: 'alice@yubin.test', to: 'carol@later.test', message: 'From: alice@yubin.test\r\nSubject: plans\r\nMessage-ID: <m2@pc>\r\nDate: Mon, 1 Jun 2025 10:00:00 +0000\r\n\r\nPlans.\r\n' }));


/** The log file's delivery lines, parsed. */
const deliveries = async () =>
  (await readFile(join(dataDir, 'log', 'yubin.log'), 'utf8'))
    .split('\n')
    .filter((l) => l.includes(' msg=delivery '))
    .map(parseLogfmt);
for (let i = 0; i < 200 && (await deliveries()).length < 4; i++) await new Promise((r) => setTimeout(r, 50));

t.test('the log has one delivery line per recipient, in the documented format', async (t) => {
  t.ok(sent && spam && later, `queued: ${sent}, ${spam}, ${later}`);
  t.match(relay, /^554 5\.7\.1 /, 'the relay attempt is refused at RCPT');
  const lines = await deliveries();
  t.equal(lines.length, 4, 'four recipients, four lines');
  const byTo = new Map(lines.map((l) => [l.to, l]));
  t.equal(byTo.size, 4, 'one line each');
  for (const l of lines) {
    t.match(l, { time: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, level: 'info', msg: 'delivery', from: /^<.*>$/, status: /^(sent|bounced|deferred|held|cancelled|deleted|quarantined|rejected)$/, reply: /^\d{3} / }, `fields of ${l.to}`);
  }
  t.match(byTo.get('<bob@dest.test>'), { queueId: sent, session: /\S/, client: LAN_PC, from: '<alice@yubin.test>', relay: `mx.dest.test[${DEST_MX}]:${port}`, attempts: '1', dsn: '2.0.0', status: 'sent', reply: /^250 / });
  t.match(byTo.get('<victim@elsewhere.test>'), { queueId: 'NOQUEUE', client: STRANGER, from: '<spammer@outside.test>', dsn: '5.7.1', status: 'rejected', stage: 'rcpt', reply: /^554 5\.7\.1 / });
  t.match(byTo.get('<alice@yubin.test>'), { queueId: spam, client: STRANGER, status: 'quarantined', stage: 'spam', relay: 'quarantine', quarantine: /^[a-z0-9]+-[0-9a-f]{12}$/, reply: `250 2.0.0 Ok: queued as ${spam}` });
  t.match(byTo.get('<carol@later.test>'), { queueId: later, relay: `mx.later.test[${LATER_MX}]:${port}`, dsn: '4.3.0', status: 'deferred', until: /^\d{4}-/, reply: /^451 4\.3\.0 Greylisted, try again in 5 minutes/ });
  t.equal(dest.received.length, 1, 'bob\'s message reached dest.test');
  // Every other line about these messages names its queue ID too.
  const log = await readFile(join(dataDir, 'log', 'yubin.log'), 'utf8');
  for (const id of [sent, spam, later]) {
    t.match(log, new RegExp(`msg=arrived queueId=${id} session=\\S+ client=`), `${id}: an arrival line with its session`);
  }
});

t.test('trace tells each story', async (t) => {
  const story = async (target: string) => {
    const r = await yubin('trace', target);
    t.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const one = await story(sent!);
  t.match(one, new RegExp(`^${sent}  <alice@yubin\\.test> to bob@dest\\.test\\n`));
  t.match(one, new RegExp(`arrived +from ${LAN_PC}, helo client\\.example, on mta, session \\S+, no TLS; trustedNetworks, outbound;`));
  t.match(one, /check +senderauth: skipped: outbound mail, from trustedNetworks \(senderauth\.checkTrusted is off\): no SPF, DKIM or DMARC check, no Authentication-Results/, 'what trusted mail skips, said in the trace');
  t.match(one, new RegExp(`sent +bob@dest\\.test \\(via mx\\.dest\\.test\\[${DEST_MX.replace(/\./g, '\\.')}\\]:${port}, attempt 1, [\\d.]+ s after arrival\\): 250 `));
  t.match(one, /now: done: 1 sent\n$/);

  const refused = await story('victim@elsewhere.test');
  t.match(refused, /^NOQUEUE  <spammer@outside\.test> to victim@elsewhere\.test\n/);
  t.match(refused, /rejected +victim@elsewhere\.test \(at RCPT\): 554 5\.7\.1 /);
  t.match(refused, /now: never accepted: nothing was queued/);

  const held = await story(spam!);
  t.match(held, new RegExp(`arrived +from ${STRANGER}, .*not trusted, inbound;`));
  t.match(held, /check +senderauth: spf=none /);
  t.match(held, /check +spam: score=\d+ required=5 tests=\S*SUBJECT_SPAM_WORDS\(2\)\S* -> quarantine/);
  t.match(held, /quarantined +alice@yubin\.test \(via quarantine, by spam, quarantine id (\S+)\): 250 2\.0\.0 Ok/);
  t.match(held, /now: in quarantine as \S+ until \d{4}-\d\d-\d\d \d\d:\d\d \(quarantine release \S+ delivers it\)/);

  const put = await story(later!);
  t.match(put, /deferred +carol@later\.test \(via mx\.later\.test\[127\.0\.0\.21\]:\d+, attempt 1, .*next try \d{4}-.*\): 451 4\.3\.0 Greylisted/);
  t.match(put, /now: in the queue: carol@later\.test waiting; next try \d{4}-/);

  t.match(await story('alice@yubin.test'), new RegExp(`${sent}[^]*${spam}[^]*${later}`), 'by address: every message from or to alice, oldest first');
  t.match((await yubin('trace', sent!, '--since', '2099-01-01')).stdout, /nothing in the trace since then/);
});

t.test('show status counts what the log says', async (t) => {
  const r = await yubin('show', 'status');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^recipients: 1 sent, 0 bounced, 1 deferred, 0 held, 0 cancelled, 0 deleted, 1 quarantined, 1 rejected$/m);
  t.match(r.stdout, /^mail: 2 received, /m, 'the two queued messages (the quarantined one was never queued)');
  t.match(r.stdout, new RegExp(`^up \\d+ s, RSS [\\d.]+ MiB`, 'm'));
  t.notMatch(r.stdout, /not available/);
});
