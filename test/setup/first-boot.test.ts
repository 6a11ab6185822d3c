// First boot on the serial console, driven over a pty like an admin's terminal: the firmware runs
// as `yubin start` with console.device on one end of a socat pty pair. Every answer is checked by
// the schema (a refused one is asked again); the ISP's smarthost is tried on the spot (a wrong
// password fails, the right one passes); everything is written at the end. Ctrl-C half-way
// leaves config.json byte for byte as it was and writes no network file.
import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { ptyPair, terminal } from '../support/pty.ts';
import { seed, startChild, tempDir } from '../support/firmware.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { Users } from '../../src/accounts/users.ts';

async function smarthost(t: { teardown(fn: () => unknown): void }) {
  const logins: string[] = [];
  const server = new SMTPServer({
    // smtp-server's built-in certificate: the board's opportunistic client does not verify it.
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, cb) {
      logins.push(`${auth.username}:${auth.password}`);
      if (auth.username === 'office' && auth.password === 'isp-secret-1') cb(null, { user: 'office' });
      else cb(Object.assign(new Error('authentication failed'), { responseCode: 535 }));
    },
    onData(stream, _s, cb) { stream.resume(); stream.on('end', () => cb()); },
    logger: false,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as { port: number }).port, logins };
}

async function board(t: { teardown(fn: () => unknown): void }, device: string) {
  const dataDir = await tempDir(t);
  const networkDir = join(dataDir, 'network');
  await seed(dataDir, { 'console.device': device, 'system.networkDir': networkDir, 'smtp.port': 0 });
  const fw = await startChild(dataDir);
  t.teardown(() => void fw.child.kill('SIGKILL'));
  return { dataDir, networkDir, fw };
}

t.test('first boot on the serial console: every question answered, refused answers asked again, written at the end', async (t) => {
  const isp = await smarthost(t);
  const [boardEnd, adminEnd] = await ptyPair(t as never);
  const { dataDir, networkDir } = await board(t, boardEnd);
  const term = await terminal(t as never, adminEnd);
  const answer = async (question: string, text: string) => {
    await term.expect(question);
    term.type(`${text}\r`);
  };
  term.type('\r');
  await term.expect('No admin password is set yet: first-boot setup.');
  await term.expect('[1/7] Admin password');
  await answer('New admin password: ', 'admin-secret-1');
  await answer('Repeat admin password: ', 'admin-secret-1');
  // The backup feature offers a restore here; Enter sets the board up anew.
  await answer('Set up anew, or restore a backup? (new/restore) [new]: ', '');

  await term.expect('[2/7] Host name');
  await answer('Host name, e.g. mx.example.com [yubin.localdomain]: ', 'bad_host!');
  await term.expect('hostname: "bad_host!" is not allowed: expected a domain name such as example.com');
  await answer('Host name, e.g. mx.example.com [yubin.localdomain]: ', 'mx.office.test');
  await term.expect('[3/7] Mail domains');
  await answer('Domains [office.test]: ', '');

  await term.expect('[4/7] First users');
  await answer('User name (Enter when done): ', 'Alice');
  await answer('New password for alice: ', 'short');
  await term.expect('password: too short: use at least 8 characters');
  await answer('User name (Enter when done): ', 'alice');
  await answer('New password for alice: ', 'alice-pass-1');
  await answer('Repeat password for alice: ', 'alice-pass-1');
  await answer('User name (Enter when done): ', '');

  await term.expect('[5/7] Network');
  await answer('Address by DHCP or static? (dhcp/static) [dhcp]: ', 'static');
  await answer('Address with prefix length, e.g. 192.168.1.25/24: ', '192.168.7.25');
  await term.expect('an address with its prefix length, such as 192.168.1.25/24');
  await answer('Address with prefix length, e.g. 192.168.1.25/24: ', '192.168.7.25/24');
  await answer('Gateway [192.168.7.1]: ', '');
  await answer('DNS servers (comma-separated) [192.168.7.1]: ', '192.168.7.1, 9.9.9.9');

  await term.expect('[6/7] Outgoing mail');
  await answer('Is outgoing port 25 blocked? (no/yes) [no]: ', 'yes');
  await answer('submission server, host:port (587 or 465): ', `127.0.0.1:${isp.port}`);
  await answer('User name at the ISP: ', 'office');
  await answer('Password at the ISP (Enter keeps the current one): ', 'wrong-password');
  t.match(await term.expect(/failed: [^\r\n]*\r\n/), /AUTH at 127\.0\.0\.1 \[127\.0\.0\.1\] failed: 535/, 'a wrong ISP password fails on the spot');
  await answer('Try again, keep these settings anyway, or send without a smarthost? (again/keep/without) [again]: ', '');
  await answer(`submission server, host:port (587 or 465) [127.0.0.1:${isp.port}]: `, '');
  await answer('User name at the ISP [office]: ', '');
  await answer('Password at the ISP (Enter keeps the current one): ', 'isp-secret-1');
  t.match(await term.expect(/ok: [^\r\n]*\r\n/), `127.0.0.1:${isp.port} [127.0.0.1] took us over TLS, AUTH as office accepted`);
  t.same(isp.logins, ['office:wrong-password', 'office:isp-secret-1'], 'the smarthost saw both logins');

  await term.expect('[7/7] Time zone');
  await answer('Time zone [UTC]: ', 'Mars/Olympus_Mons');
  await term.expect('system.timeZone: "Mars/Olympus_Mons" is not allowed: expected a time zone name such as Asia/Tokyo');
  await answer('Time zone [UTC]: ', 'Asia/Tokyo');

  const summary = await term.expect('Write it? (yes/no) [yes]: ');
  t.match(summary, 'hostname = mx.office.test');
  t.match(summary, 'domains = office.test');
  t.match(summary, `relay.smarthost = 127.0.0.1:${isp.port}`);
  t.match(summary, 'relay.smarthostPassword = (set)');
  t.match(summary, 'user alice');
  t.match(summary, 'network: 192.168.7.25/24 via 192.168.7.1, DNS 192.168.7.1, 9.9.9.9');
  t.notMatch(summary, 'isp-secret-1', 'the ISP password is not shown');
  term.type('\r');
  await term.expect('admin password set');
  await term.expect(`setup written; the network applies at the next boot (${join(networkDir, '20-wired.network')})`);
  await term.expect('mx.office.test> ');
  for (const secret of ['admin-secret-1', 'alice-pass-1', 'isp-secret-1', 'wrong-password']) t.notMatch(term.screen, secret, 'no password is echoed');

  const store = await ConfigStore.open(dataDir);
  t.teardown(() => store.close());
  t.match(store.settings, {
    hostname: 'mx.office.test', domains: ['office.test'], 'relay.smarthost': `127.0.0.1:${isp.port}`, 'relay.smarthostTls': 'starttls',
    'relay.smarthostUser': 'office', 'relay.smarthostPassword': 'isp-secret-1', 'system.timeZone': 'Asia/Tokyo',
  });
  t.equal(await new Users(store).authenticate('alice', 'alice-pass-1'), 'alice', 'alice logs in with her password');
  t.equal(await readFile(join(networkDir, '20-wired.network'), 'utf8'),
    '# Written by yubin setup: every wired port.\n[Match]\nName=en* eth*\n\n[Network]\nAddress=192.168.7.25/24\nGateway=192.168.7.1\nDNS=192.168.7.1\nDNS=9.9.9.9\n');

  // The admin password chosen is the console's from now on.
  term.type('logout\r');
  await answer('Password: ', 'admin-secret-1');
  await term.expect('mx.office.test> ');
});

t.test('Ctrl-C half-way through the first-boot setup changes nothing, and the console asks again', async (t) => {
  const [boardEnd, adminEnd] = await ptyPair(t as never);
  const { dataDir, networkDir } = await board(t, boardEnd);
  const before = await readFile(join(dataDir, 'config.json'));
  const term = await terminal(t as never, adminEnd);
  const answer = async (question: string, text: string) => {
    await term.expect(question);
    term.type(`${text}\r`);
  };
  term.type('\r');
  await answer('New admin password: ', 'admin-secret-1');
  await answer('Repeat admin password: ', 'admin-secret-1');
  await answer('Set up anew, or restore a backup? (new/restore) [new]: ', '');
  await answer('Host name, e.g. mx.example.com [yubin.localdomain]: ', 'mx.office.test');
  await answer('Domains [office.test]: ', '');
  await answer('User name (Enter when done): ', 'alice');
  await answer('New password for alice: ', 'alice-pass-1');
  await answer('Repeat password for alice: ', 'alice-pass-1');
  await answer('User name (Enter when done): ', '');
  await answer('Address by DHCP or static? (dhcp/static) [dhcp]: ', 'static');
  await term.expect('Address with prefix length');
  term.type('192.168.7.2\x03'); // Ctrl-C in the middle of typing an answer
  await term.expect('setup cancelled: nothing was changed');
  await term.expect('No admin password is set yet: first-boot setup.');
  t.same(await readFile(join(dataDir, 'config.json')), before, 'config.json is byte for byte as it was');
  t.same(await readdir(networkDir).catch(() => []), [], 'no network file');
  const store = await ConfigStore.open(dataDir);
  t.teardown(() => store.close());
  t.equal(store.get('console.passwordHash'), '', 'still no admin password');
  t.same(Object.keys(store.db.users), [], 'no user');
});
