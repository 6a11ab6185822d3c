// 1,000 idle or slow connections (500 SMTP, 500 POP3, from 100 addresses 127.0.2.x): Yubin's RSS
// stays bounded, a normal message still gets through quickly, a POP3 client is still answered, and
// the connection limits answer 421 / -ERR [SYS/TEMP] beyond them.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { tempDir, seed, startChild, BASE_SETTINGS } from '../support/firmware.ts';
import { RawSmtp } from '../support/clients.ts';
import { rssKiB } from '../support/rss.ts';
import { sendMessage, sleep } from '../faults/fixtures/mail.ts';

const PER_SERVICE = 500;
const ADDRESSES = 100;

function open(port: number, local: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: local }, () => resolve(s));
    s.once('error', reject);
    s.setTimeout(30_000, () => s.destroy());
  });
}

/** The first line the server sends on a new connection. */
function firstLine(port: number, local: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: local });
    let got = '';
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(got.split('\r\n')[0] ?? '');
    };
    const timer = setTimeout(done, 5000);
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done();
    });
    s.on('error', done);
    s.on('close', done);
  });
}

t.test(`${PER_SERVICE * 2} idle and slow connections: bounded memory, still responsive, limits answered`, async (t) => {
  const dataDir = await tempDir(t);
  await seed(
    dataDir,
    {
      ...BASE_SETTINGS,
      'senderauth.enabled': false,
      'smtp.maxConnections': PER_SERVICE + 10,
      'smtp.maxConnectionsPerClient': PER_SERVICE / ADDRESSES,
      // All 100 addresses share one /24 here, and the idle sockets are meant to stay: the per-network
      // cap, the reserve and the stress timeout have tests of their own (test/abuse/fair-limits).
      'smtp.maxConnectionsPerNetwork': PER_SERVICE,
      'smtp.reservedConnections': 10,
      'smtp.stressTimeout': 300,
      'pop3.maxSessions': PER_SERVICE + 10,
      'pop3.maxSessionsPerClient': PER_SERVICE / ADDRESSES,
      'pop3.allowCleartext': true,
    },
    [{ name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] }],
  );
  const fw = await startChild(dataDir, [], 60_000);
  t.teardown(() => fw.child.kill('SIGKILL'));
  await sleep(1000);
  const base = await rssKiB(fw.child.pid!);

  const sockets: Socket[] = [];
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  const opened = Date.now();
  for (let i = 0; i < PER_SERVICE; i++) {
    const local = `127.0.2.${10 + (i % ADDRESSES)}`;
    sockets.push(await open(fw.ports.smtp!, local), await open(fw.ports.pop3!, local));
  }
  t.comment(`${sockets.length} connections opened in ${Date.now() - opened} ms`);
  // A tenth are slow talkers: a byte of a command every 200 ms (slowloris).
  const slow = sockets.filter((_, i) => i % 10 === 0);
  const drip = setInterval(() => slow.forEach((s) => s.writable && s.write('N')), 200);
  t.teardown(() => clearInterval(drip));
  await sleep(2000);

  const loaded = await rssKiB(fw.child.pid!);
  t.comment(`RSS idle: ${(base / 1024).toFixed(1)} MiB; with ${sockets.length} connections: ${(loaded / 1024).toFixed(1)} MiB (+${((loaded - base) / sockets.length).toFixed(1)} KiB each)`);
  t.ok(loaded - base < 128 * 1024, `under 128 MiB more for ${sockets.length} connections`);
  t.equal(sockets.filter((s) => s.destroyed).length, 0, 'every connection is still open');

  const started = Date.now();
  const reply = await sendMessage({ port: fw.ports.smtp!, local: '127.0.0.2', message: 'Subject: still here\r\n\r\nhello\r\n', timeoutMs: 10_000 });
  t.match(reply, /^250 /, 'a normal message is accepted');
  t.ok(Date.now() - started < 5000, `in ${Date.now() - started} ms`);
  t.match(await firstLine(fw.ports.pop3!, '127.0.0.2'), /^\+OK /, 'a POP3 client is greeted');

  // Beyond the limits: one more from an address that has its share, then from a fresh address.
  // .11, not .10: the normal message above took the place of the oldest idle stranger (a .10
  // session: src/anvil/gate.ts preempts when the strangers' share is full), so .10 has room again.
  const full = '127.0.2.11';
  const smtpOver = await RawSmtp.open(fw.ports.smtp!, full);
  t.match(await smtpOver.reply(), /^421 4\.7\.0 Too many connections from 127\.0\.2\.11/, 'SMTP per-client limit: 421 4.7.0');
  smtpOver.close();
  t.match(await firstLine(fw.ports.pop3!, full), /^-ERR \[SYS\/TEMP\] /, 'POP3 per-client limit: -ERR [SYS/TEMP]');
  // Strangers hold their whole share (a newcomer among them takes an idle one's place): the office
  // (trusted 127.0.0.1) fills the reserve, and then every place is taken.
  for (let i = 0; i < 15; i++) sockets.push(await open(fw.ports.smtp!, '127.0.0.1'));
  await sleep(300);
  const totalOver = await RawSmtp.open(fw.ports.smtp!, '127.0.3.200');
  t.match(await totalOver.reply(), /^421 4\.7\.0 Too many connections/, 'SMTP total limit: 421 4.7.0');
  totalOver.close();

  t.notMatch(fw.stderr(), /Unhandled|exit code/, 'no crash');
});
