import t from 'tap';
import { apopDigest, apopMatches, apopTimestamp } from '../../src/pop3d/apop.ts';

t.test('computes the RFC 1939 §7 example digest', async (t) => {
  t.equal(apopDigest('<1896.697170952@dbc.mtview.ca.us>', 'tanstaaf'), 'c4c9334bac560ecc979e58001b3e22fb');
});

t.test('accepts the right digest in either case and refuses anything else', async (t) => {
  const ts = '<1896.697170952@dbc.mtview.ca.us>';
  t.ok(apopMatches(ts, 'tanstaaf', 'c4c9334bac560ecc979e58001b3e22fb'));
  t.ok(apopMatches(ts, 'tanstaaf', 'C4C9334BAC560ECC979E58001B3E22FB'));
  t.notOk(apopMatches(ts, 'tanstaaF', 'c4c9334bac560ecc979e58001b3e22fb'), 'another secret');
  t.notOk(apopMatches('<1897.697170952@dbc.mtview.ca.us>', 'tanstaaf', 'c4c9334bac560ecc979e58001b3e22fb'), 'a replayed digest for another timestamp');
  t.notOk(apopMatches(ts, 'tanstaaf', 'c4c9334bac560ecc979e58001b3e22f'), 'too short');
  t.notOk(apopMatches(ts, 'tanstaaf', 'not hex at all, but 32 chars!!!'), 'not hex');
  t.notOk(apopMatches(ts, null, 'c4c9334bac560ecc979e58001b3e22fb'), 'no secret (unknown user or APOP off)');
});

t.test('banner timestamps are unique per connection and shaped <pid.counter.time.random@host>', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) seen.add(apopTimestamp('mail.example.com'));
  t.equal(seen.size, 1000);
  const one = [...seen][0]!;
  t.match(one, new RegExp(`^<${process.pid}\\.\\d+\\.\\d{10}\\.[0-9a-f]{16}@mail\\.example\\.com>$`));
});
