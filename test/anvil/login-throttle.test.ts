// The login brake shared by SMTP AUTH, POP3 and the console (src/anvil/login-throttle.ts).
import t from 'tap';
import { LoginThrottle } from '../../src/anvil/login-throttle.ts';

const limits = { firstDelayMs: 100, maxDelayMs: 1600, pairFailures: 3, sourceFailures: 5, windowMs: 60_000, lockMs: 60_000 };
const stranger = { address: '192.0.2.1', trusted: false };
const owner = { address: '198.51.100.7', trusted: false };
const office = { address: '10.0.0.1', trusted: true };

t.test('the delay doubles with each failure from a source, whatever the user, capped', async (t) => {
  const th = new LoginThrottle(100, () => 0);
  t.same([1, 2, 3, 4, 5, 6].map((i) => th.fail(stranger, `user${i}`, limits).delayMs), [100, 200, 400, 800, 1600, 1600]);
});

t.test('a pair lockout hits the guessing source only: the owner logs in from elsewhere', async (t) => {
  const th = new LoginThrottle(100, () => 0);
  for (let i = 0; i < 3; i++) th.fail(stranger, 'Alice', limits);
  t.equal(th.lockedOut(stranger, 'alice'), 'pair', 'alice from the stranger');
  t.equal(th.lockedOut(owner, 'alice'), null, 'alice from her own address');
  t.equal(th.lockedOut(stranger, 'bob'), null, 'bob from the stranger');
});

t.test('an outside source is locked as a whole after its failures over many names; a trusted one never', async (t) => {
  let now = 0;
  const th = new LoginThrottle(100, () => now);
  for (let i = 0; i < 5; i++) th.fail(stranger, `guess${i}`, limits);
  t.equal(th.lockedOut(stranger, 'anyone'), 'source');
  for (let i = 0; i < 50; i++) th.fail(office, `guess${i}`, limits);
  t.equal(th.lockedOut(office, 'alice'), null, 'the office behind one address is never locked out whole');
  now = 60_001;
  t.equal(th.lockedOut(stranger, 'anyone'), null, 'free again after the lock');
});

t.test('a good login clears its pair, not the source count', async (t) => {
  const th = new LoginThrottle(100, () => 0);
  th.fail(stranger, 'alice', limits);
  th.fail(stranger, 'alice', limits);
  th.succeed(stranger, 'alice');
  th.fail(stranger, 'alice', limits);
  t.equal(th.lockedOut(stranger, 'alice'), null, 'pair count restarted');
  t.equal(th.fail(stranger, 'x', limits).delayMs, 800, 'source count kept: fourth failure');
});

t.test('attempts from one outside source run one at a time; trusted ones in parallel', async (t) => {
  const th = new LoginThrottle();
  let running = 0;
  let most = 0;
  const attempt = async () => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 10));
    running--;
  };
  await Promise.all(Array.from({ length: 5 }, () => th.inTurn(stranger, attempt)));
  t.equal(most, 1, 'stranger: one at a time');
  most = 0;
  await Promise.all(Array.from({ length: 5 }, () => th.inTurn(office, attempt)));
  t.equal(most, 5, 'trusted: all at once');
  await t.rejects(th.inTurn(stranger, async () => Promise.reject(new Error('x'))), /x/);
  t.resolves(th.inTurn(stranger, async () => 1), 'a failed attempt does not block the next');
});

t.test('holds a bounded number of records', async (t) => {
  const th = new LoginThrottle(100);
  for (let i = 0; i < 1000; i++) th.fail({ address: `10.0.${i >> 8}.${i & 255}`, trusted: false }, `u${i}`, limits);
  t.ok(th.size <= 100, `${th.size} records`);
});

t.test('a config.json from before login.* keeps its POP3 brake values under the new names', async (t) => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { ConfigStore } = await import('../../src/config/store.ts');
  const dir = await mkdtemp(join(tmpdir(), 'yubin-rename-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ version: 1, settings: { 'pop3.authDelayMs': 250, 'pop3.userLockoutFailures': 7, 'pop3.clientLockoutFailures': 30, 'pop3.lockoutSeconds': 60 }, users: {}, aliases: {} }));
  const store = await ConfigStore.open(dir);
  t.teardown(() => store.close());
  t.same([store.get('login.delayMs'), store.get('login.pairFailures'), store.get('login.sourceFailures'), store.get('login.lockSeconds')], [250, 7, 30, 60]);
});
