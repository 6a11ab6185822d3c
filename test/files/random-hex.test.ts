// Names drawn from the random pool: the right length, hex, and never repeated, across pool refills.
import t from 'tap';
import { randomHex } from '../../src/files/random-hex.ts';
import { newQueueId, isQueueId } from '../../src/spool/queue-id.ts';

t.test('random names are hex of the asked length and do not repeat across pool refills', async (t) => {
  const seen = new Set<string>();
  // 4 KiB pool: 20,000 × 5 bytes refills it ~24 times.
  for (let i = 0; i < 20_000; i++) {
    const hex = randomHex(5);
    if (!/^[0-9a-f]{10}$/.test(hex)) t.fail(`not 10 hex digits: ${hex}`);
    seen.add(hex);
  }
  t.equal(seen.size, 20_000, 'no repeats');
  t.match(randomHex(5000), /^[0-9a-f]{10000}$/, 'more than the pool holds');
  t.ok(isQueueId(newQueueId()), 'queue IDs keep their form');
});
