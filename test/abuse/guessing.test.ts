// Password guessing from outside, over many connections at once, against a child firmware in a
// network namespace of its own (so its nftables ban set is real and touches nothing else): at
// most a handful of guesses are checked, the guessing address ends in the ban set, and the owner
// logs in from another address meanwhile. SMTP AUTH on 587, then POP3 with STLS on 1110.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { tempDir, seed, startChild, BASE_SETTINGS } from '../support/firmware.ts';
import { run } from '../support/clients.ts';

const exec = promisify(execFile);
const NS = `yb-guess-${randomBytes(3).toString('hex')}`;

// 50 wrong passwords for alice from one address, 10 connections at a time. Each attempt is
// "checked" (535 / -ERR [AUTH]: the password was tried), "refused" (454 / -ERR [SYS/TEMP]:
// locked out, not tried) or "dropped" (no answer within 5 s: held in turn behind the growing
// delays of the earlier attempts, or the address is banned).
const ATTACK = `
import poplib, smtplib, socket, ssl, sys, threading, time
service, port, local = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl._create_unverified_context()
counts = {'checked': 0, 'refused': 0, 'dropped': 0, 'other': 0}
lock = threading.Lock()
class FromAddress(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(local, 0))
def smtp_try(n):
    s = smtplib.SMTP('127.0.0.1', port, source_address=(local, 0), timeout=5)
    s.ehlo('guesser.example'); s.starttls(context=ctx); s.ehlo('guesser.example')
    s.user, s.password = 'alice', 'guess-%d' % n
    try:
        s.auth('PLAIN', s.auth_plain)
        return 'other'
    except smtplib.SMTPAuthenticationError as e:
        return 'checked' if e.smtp_code == 535 else 'refused' if e.smtp_code == 454 else 'other'
def pop3_try(n):
    p = FromAddress('127.0.0.1', port, timeout=5)
    p.stls(context=ctx)
    p.user('alice')
    try:
        p.pass_('guess-%d' % n)
        return 'other'
    except poplib.error_proto as e:
        text = e.args[0].decode()
        return 'checked' if '[AUTH]' in text else 'refused' if '[SYS/TEMP]' in text else 'other'
def worker(k):
    for i in range(5):
        try:
            r = (smtp_try if service == 'smtp' else pop3_try)(k * 5 + i)
        except (socket.timeout, TimeoutError, ConnectionError, OSError, smtplib.SMTPServerDisconnected) as e:
            r = 'dropped'
        except Exception as e:
            print(type(e).__name__, e, file=sys.stderr, flush=True)
            r = 'other'
        with lock: counts[r] += 1
start = time.monotonic()
threads = [threading.Thread(target=worker, args=(k,)) for k in range(10)]
for th in threads: th.start()
for th in threads: th.join()
print('%(checked)d checked %(refused)d refused %(dropped)d dropped %(other)d other' % counts, '%.1f s' % (time.monotonic() - start), flush=True)
`;

const OWNER = `
import poplib, smtplib, socket, ssl, sys
service, port, local = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl._create_unverified_context()
if service == 'smtp':
    s = smtplib.SMTP('127.0.0.1', port, source_address=(local, 0), timeout=10)
    s.ehlo('laptop.example'); s.starttls(context=ctx); s.ehlo('laptop.example')
    print('OK', s.login('alice', 'alice-password-1')[0], flush=True)
else:
    class FromAddress(poplib.POP3):
        def _create_socket(self, timeout):
            return socket.create_connection((self.host, self.port), timeout, source_address=(local, 0))
    p = FromAddress('127.0.0.1', port, timeout=10)
    p.stls(context=ctx); p.user('alice')
    print('OK', p.pass_('alice-password-1').decode(), flush=True)
`;

const ADDRESSES = ['198.51.100.9', '198.51.100.10', '203.0.113.9', '203.0.113.10'];
const inNs = (...args: string[]) => ['ip', 'netns', 'exec', NS, ...args];

t.before(async () => {
  await exec('ip', ['netns', 'add', NS]);
  await exec('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  // Outside addresses (documentation ranges, RFC 5737) on the namespace's own loopback: the ban
  // rule never bans 127/8, which is the board itself.
  for (const a of ADDRESSES) await exec('ip', ['-n', NS, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
});
t.teardown(() => exec('ip', ['netns', 'del', NS]).catch(() => undefined));

t.test('guessing over many connections: a handful checked, the guesser banned, the owner logs in', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'alerts.autoBan': true, 'login.delayMs': 100, 'smtp.greetingDelay': 0 }, [
    { name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] },
  ]);
  const fw = await startChild(dataDir, [], 30_000, { wrapper: inNs(), configuredPorts: true });
  t.teardown(() => fw.child.kill('SIGKILL'));
  const banned = async () => (await exec('ip', ['netns', 'exec', NS, 'nft', 'list', 'set', 'inet', 'yubin', 'banned4'])).stdout;

  for (const [service, port, guesser, owner] of [['smtp', 2587, '198.51.100.9', '198.51.100.10'], ['pop3', 1110, '203.0.113.9', '203.0.113.10']] as const) {
    await t.test(service, async (t) => {
      const attack = run('ip', inNs('python3', '-c', ATTACK, service, String(port), guesser).slice(1), { timeoutMs: 120_000 });
      await new Promise((r) => setTimeout(r, 1000));
      const mine = await run('ip', inNs('python3', '-c', OWNER, service, String(port), owner).slice(1), { timeoutMs: 20_000 });
      t.match(mine.stdout, /^OK /, `the owner logs in from ${owner} during the attack: ${mine.stdout.trim()} ${mine.stderr.trim()}`);
      const result = await attack;
      t.comment(`${service} attack from ${guesser}: ${result.stdout.trim()}`);
      const checked = Number(/^(\d+) checked/.exec(result.stdout)?.[1] ?? NaN);
      t.ok(checked <= 10, `${checked} of 50 guesses had their password checked`);
      t.match(result.stdout, / 0 other /, result.stderr);
      t.match(await banned(), new RegExp(guesser.replace(/\./g, '\\.')), `${guesser} is in the ban set`);
      t.notMatch(await banned(), new RegExp(owner.replace(/\./g, '\\.')), 'the owner is not');
    });
  }
  t.match(fw.stderr(), /msg="address banned" ip=203\.0\.113\.9/);
});
