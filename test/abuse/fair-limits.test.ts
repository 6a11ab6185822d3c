// Strangers cannot lock the office out (src/anvil/gate.ts). 2,000 idle connections held open from
// 20 outside addresses (each in its own /24) on the MTA and submission ports, on default limits:
// a trusted office PC and a user authenticating on 587 from yet another outside address each send
// a message within a second, and the firmware's memory stays bounded. A DATA trickled at a byte a
// second is cut at smtp.maxDataSeconds; under stress, idle strangers time out early.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { tempDir, seed, startChild, startInProcess, BASE_SETTINGS } from '../support/firmware.ts';
import { RawSmtp, run } from '../support/clients.ts';
import { rssKiB } from '../support/rss.ts';
import { sendMessage, sleep } from '../faults/fixtures/mail.ts';

/** Open a connection and keep it; resolves with the socket and the first line it got (or ''). */
function hold(port: number, local: string): Promise<{ socket: Socket; first: Promise<string> }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: local });
    socket.on('error', () => undefined);
    const first = new Promise<string>((r) => {
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.includes('\r\n')) r(got.split('\r\n')[0]!);
      });
      socket.on('close', () => r(got.split('\r\n')[0] ?? ''));
    });
    socket.once('connect', () => resolve({ socket, first }));
    socket.once('error', () => resolve({ socket, first }));
  });
}

// Python's smtplib: connect, STARTTLS, AUTH LOGIN, one message; prints the seconds it took.
const SUBMIT = `
import smtplib, ssl, sys, time
port, local = int(sys.argv[1]), sys.argv[2]
start = time.monotonic()
s = smtplib.SMTP('127.0.0.1', port, source_address=(local, 0), timeout=10)
s.ehlo('laptop.example')
s.starttls(context=ssl._create_unverified_context())
s.ehlo('laptop.example')
s.login('alice', 'alice-password-1')
s.sendmail('alice@yubin.test', ['friend@foreign.example'], b'Subject: from the road\\r\\n\\r\\nhello\\r\\n')
print('OK %.3f' % (time.monotonic() - start), flush=True)
s.quit()
`;

t.test('2,000 idle connections from 20 outside networks: trusted and authenticated mail still go through', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'senderauth.enabled': false, 'relay.smarthost': '127.0.0.1:9' }, [
    { name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] },
  ]);
  const fw = await startChild(dataDir, [], 60_000);
  t.teardown(() => fw.child.kill('SIGKILL'));
  await sleep(500);
  const base = await rssKiB(fw.child.pid!);

  const held: Array<{ socket: Socket; first: Promise<string> }> = [];
  t.teardown(() => held.forEach((h) => h.socket.destroy()));
  const opened = Date.now();
  for (let a = 1; a <= 20; a++) {
    for (let i = 0; i < 100; i++) held.push(await hold(i % 4 === 0 ? fw.ports.submission! : fw.ports.smtp!, `127.${a}.0.9`));
  }
  const firsts = await Promise.all(held.map((h) => Promise.race([h.first, sleep(3000).then(() => '(nothing yet)')])));
  await sleep(500);
  const greeted = firsts.filter((l) => l.startsWith('220')).length;
  const refused = firsts.filter((l) => /^421 4\.7\.0 /.test(l)).length;
  const open = held.filter((h) => !h.socket.destroyed && h.socket.readable).length;
  t.comment(`${held.length} connections in ${Date.now() - opened} ms: ${greeted} greeted (some preempted later), ${refused} refused with 421 4.7.0; ${open} still open`);
  t.same(firsts.filter((l) => !l.startsWith('220') && !/^421 4\.7\.0 /.test(l)).slice(0, 3), [], 'every connection was greeted or refused with 421 4.7.0');
  t.ok(open <= 160, `strangers hold at most smtp.maxConnections - smtp.reservedConnections (${open})`);
  const loaded = await rssKiB(fw.child.pid!);
  t.comment(`RSS idle ${(base / 1024).toFixed(1)} MiB, with the flood ${(loaded / 1024).toFixed(1)} MiB`);
  t.ok(loaded - base < 64 * 1024, `bounded: +${((loaded - base) / 1024).toFixed(1)} MiB`);

  await t.test('a trusted office PC sends within 1 s', async (t) => {
    const started = Date.now();
    const reply = await sendMessage({ port: fw.ports.smtp!, local: '127.0.0.1', to: 'alice@yubin.test', message: 'Subject: office\r\n\r\nhello\r\n', timeoutMs: 5000 });
    const took = Date.now() - started;
    t.match(reply, /^250 /);
    t.ok(took < 1000, `${took} ms`);
  });

  await t.test('a user authenticating on 587 from another outside address sends within 1 s', async (t) => {
    const r = await run('python3', ['-c', SUBMIT, String(fw.ports.submission), '127.200.0.9'], { timeoutMs: 15_000 });
    t.match(r.stdout, /^OK /, r.stderr);
    const seconds = Number(/^OK ([\d.]+)/.exec(r.stdout)?.[1] ?? 'NaN');
    t.ok(seconds < 1, `${seconds} s`);
  });

  t.notMatch(fw.stderr(), /Unhandled|exit code/, 'no crash');
});

t.test('caps per outside address and per network answer 421 4.7.0 naming them', async (t) => {
  const fw = await startInProcess(t, { 'smtp.greetingDelay': 0, 'smtp.maxConnectionsPerClient': 2, 'smtp.maxConnectionsPerNetwork': 3 });
  const port = fw.ports().smtp!;
  const first = await Promise.all(['127.50.0.1', '127.50.0.1', '127.50.0.2'].map((a) => hold(port, a)));
  t.teardown(() => first.forEach((h) => h.socket.destroy()));
  for (const h of first) t.match(await h.first, /^220 /);
  const sameAddress = await hold(port, '127.50.0.1');
  t.match(await sameAddress.first, /^421 4\.7\.0 Too many connections from 127\.50\.0\.1, try again later/);
  const sameNetwork = await hold(port, '127.50.0.3');
  t.match(await sameNetwork.first, /^421 4\.7\.0 Too many connections from 127\.50\.0\.0\/24, try again later/);
  const elsewhere = await hold(port, '127.51.0.1');
  t.match(await elsewhere.first, /^220 /, 'another network still gets in');
  for (const h of [sameAddress, sameNetwork, elsewhere]) h.socket.destroy();
});

t.test('a DATA trickled at one byte a second is cut at smtp.maxDataSeconds', async (t) => {
  const fw = await startInProcess(t, { 'smtp.greetingDelay': 0, 'senderauth.enabled': false, 'smtp.maxDataSeconds': 3 }, [
    { name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] },
  ]);
  const s = await RawSmtp.open(fw.ports().smtp!, '127.0.0.9');
  t.teardown(() => s.close());
  await s.reply();
  await s.command('EHLO slow.example');
  await s.command('MAIL FROM:<a@outside.example>');
  await s.command('RCPT TO:<alice@yubin.test>');
  t.match(await s.command('DATA'), /^354 /);
  const started = Date.now();
  const drip = setInterval(() => s.send('x'), 1000);
  t.teardown(() => clearInterval(drip));
  t.match(await s.reply(10_000), /^421 4\.4\.2 Message took longer than 3 s to send \(smtp\.maxDataSeconds\)/);
  const took = Date.now() - started;
  t.ok(took >= 2900 && took < 5000, `cut after ${took} ms`);
});

t.test('under stress idle strangers time out after smtp.stressTimeout; trusted clients keep theirs', async (t) => {
  const fw = await startInProcess(t, {
    'smtp.greetingDelay': 0, 'smtp.maxConnections': 20, 'smtp.reservedConnections': 4, 'smtp.stressThreshold': 50, 'smtp.stressTimeout': 1,
  });
  const port = fw.ports().smtp!;
  const strangers = await Promise.all(Array.from({ length: 10 }, (_, i) => hold(port, `127.${30 + i}.0.9`)));
  t.teardown(() => strangers.forEach((h) => h.socket.destroy()));
  const office = await hold(port, '127.0.0.1');
  t.teardown(() => office.socket.destroy());
  const closed = (h: { socket: Socket }) => new Promise<boolean>((r) => {
    if (h.socket.destroyed) return r(true);
    const timer = setTimeout(() => r(false), 4000);
    h.socket.once('close', () => (clearTimeout(timer), r(true)));
  });
  const results = await Promise.all(strangers.map(closed));
  t.equal(results.filter(Boolean).length, 10, 'every idle stranger was closed');
  t.notOk(office.socket.destroyed, 'the trusted client is still connected');
});

// Python's poplib: STLS, USER/PASS, STAT; prints the seconds it took.
const FETCH = `
import poplib, socket, ssl, sys, time
port, local = int(sys.argv[1]), sys.argv[2]
class FromAddress(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(local, 0))
start = time.monotonic()
p = FromAddress('127.0.0.1', port, timeout=10)
p.stls(context=ssl._create_unverified_context())
p.user('alice'); p.pass_('alice-password-1')
print('OK %.3f %s' % (time.monotonic() - start, p.stat()), flush=True)
p.quit()
`;

t.test('POP3: 400 idle sessions from 20 outside networks; the owner still logs in from elsewhere, the office too', async (t) => {
  const fw = await startInProcess(t, { 'pop3.stressTimeout': 300 }, [{ name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] }]);
  const port = fw.ports().pop3!;
  const held: Array<{ socket: Socket; first: Promise<string> }> = [];
  t.teardown(() => held.forEach((h) => h.socket.destroy()));
  for (let a = 1; a <= 20; a++) for (let i = 0; i < 20; i++) held.push(await hold(port, `127.${a}.0.9`));
  const firsts = await Promise.all(held.map((h) => h.first));
  await sleep(300);
  t.same(firsts.filter((l) => !l.startsWith('+OK') && !l.startsWith('-ERR [SYS/TEMP] Too many connections')), [], 'greeted or refused with -ERR [SYS/TEMP]');
  const open = held.filter((h) => !h.socket.destroyed && h.socket.readable).length;
  t.ok(open <= 80, `strangers hold at most pop3.maxSessions - pop3.reservedSessions (${open})`);
  const r = await run('python3', ['-c', FETCH, String(port), '127.200.0.9'], { timeoutMs: 15_000 });
  t.match(r.stdout, /^OK /, r.stderr);
  t.ok(Number(/^OK ([\d.]+)/.exec(r.stdout)?.[1] ?? 'NaN') < 1, `owner from another address: ${r.stdout.trim()}`);
  const office = await hold(port, '127.0.0.1');
  t.match(await office.first, /^\+OK /, 'a trusted client is greeted');
  office.socket.destroy();
});
