import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureMaildir } from '../../src/maildir/maildir.ts';
import { Maildrop, uidOf } from '../../src/pop3d/maildrop.ts';

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

t.test('messages are numbered oldest first, even when the microseconds differ in length', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'yubin-maildrop-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await ensureMaildir(root);
  // Delivered in this order within one second: 96919 µs, then 129838 µs, then the next second.
  const names = ['1700000000.M96919P7Q1.host', '1700000000.M129838P7Q2.host', '1700000001.M5P7Q3.host'];
  await writeFile(join(root, 'cur', `${names[1]},S=2:2,S`), 'b\n');
  await writeFile(join(root, 'new', `${names[2]},S=2`), 'c\n');
  await writeFile(join(root, 'new', `${names[0]},S=2`), 'a\n');
  const drop = await Maildrop.open(root);
  t.same([...drop.live()].map(([n, m]) => [n, m.uid]), names.map((name, i) => [i + 1, name]));
});
