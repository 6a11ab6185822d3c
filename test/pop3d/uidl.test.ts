import t from 'tap';
import { uidOf } from '../../src/pop3d/maildrop.ts';

t.test('a Maildir base name that fits RFC 1939 §7 is its own UID', async (t) => {
  t.equal(uidOf('1700000000.M123456P42Q1R0a1b2c3d.yubin.localdomain'), '1700000000.M123456P42Q1R0a1b2c3d.yubin.localdomain');
});

t.test('names too long or with characters outside 0x21-0x7E become a stable hash', async (t) => {
  const long = '1700000000.M1P1Q1.' + 'h'.repeat(80);
  const spaced = '1700000000.M1 P1.host';
  const eight = '1700000000.M1P1.hôst';
  for (const name of [long, spaced, eight]) {
    const uid = uidOf(name);
    t.match(uid, /^[0-9a-f]{64}$/, `${name.slice(0, 30)}... hashed`);
    t.equal(uidOf(name), uid, 'the same every time');
  }
  t.not(uidOf(long), uidOf(long + 'x'), 'different names, different UIDs');
});
