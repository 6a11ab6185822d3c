import t from 'tap';
import { AuthThrottle } from '../../src/pop3d/throttle.ts';

const limits = { delayMs: 100, userFailures: 3, clientFailures: 5, windowMs: 60_000 };

t.test('the delay doubles with each failure from a client, capped at 16 times', async (t) => {
  const th = new AuthThrottle();
  const delays = [1, 2, 3, 4, 5, 6].map((i) => th.fail('192.0.2.1', `user${i}`, limits, 1000));
  t.same(delays, [100, 200, 400, 800, 1600, 1600]);
});

t.test('locks a user name after its failures, whatever client they come from, until the window passes', async (t) => {
  const th = new AuthThrottle();
  th.fail('192.0.2.1', 'alice', limits, 0);
  th.fail('192.0.2.2', 'Alice', limits, 0);
  t.notOk(th.isLocked('192.0.2.9', 'alice', 0));
  th.fail('192.0.2.3', 'alice', limits, 0);
  t.ok(th.isLocked('192.0.2.9', 'alice', 1), 'locked for every client');
  t.notOk(th.isLocked('192.0.2.9', 'bob', 1), 'other users unaffected');
  t.notOk(th.isLocked('192.0.2.9', 'alice', 60_001), 'free again after the window');
});

t.test('locks a client after its failures over many user names', async (t) => {
  const th = new AuthThrottle();
  for (let i = 0; i < 5; i++) th.fail('192.0.2.1', `guess${i}`, limits, 0);
  t.ok(th.isLocked('192.0.2.1', 'anyone', 10));
  t.notOk(th.isLocked('192.0.2.2', 'anyone', 10));
});

t.test('failures older than the window are forgotten', async (t) => {
  const th = new AuthThrottle();
  th.fail('192.0.2.1', 'alice', limits, 0);
  th.fail('192.0.2.1', 'alice', limits, 0);
  t.equal(th.fail('192.0.2.1', 'alice', limits, 70_000), 100, 'count restarted: first-failure delay');
  t.notOk(th.isLocked('192.0.2.1', 'alice', 70_000));
});

t.test('a good login clears the user count but not the client count', async (t) => {
  const th = new AuthThrottle();
  th.fail('192.0.2.1', 'alice', limits, 0);
  th.fail('192.0.2.1', 'alice', limits, 0);
  th.succeed('alice');
  th.fail('192.0.2.1', 'alice', limits, 0);
  t.notOk(th.isLocked('192.0.2.1', 'alice', 0), 'user count restarted');
  t.equal(th.fail('192.0.2.1', 'alice', limits, 0), 800, 'client count kept: fourth failure');
});

t.test('holds a bounded number of records', async (t) => {
  const th = new AuthThrottle(100);
  for (let i = 0; i < 1000; i++) th.fail(`10.0.${i >> 8}.${i & 255}`, `u${i}`, limits, 0);
  t.ok(th.size <= 100, `${th.size} records`);
});
