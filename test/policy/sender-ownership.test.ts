import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSenderOwnership, decideMailFrom } from '../../src/policy/sender.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { Users } from '../../src/accounts/users.ts';

const owned = ['taro@local.example', 'sales@local.example', 'taro@xn--bcher-kva.de'];

t.test('lets an authenticated user send as each of its own addresses, however spelled', async (t) => {
  for (const from of ['taro@local.example', 'Taro@LOCAL.example', 'taro@local.example.', '"taro"@local.example', 'SALES@local.example',
    'taro@bücher.de', '@relay.example:taro@local.example']) {
    t.equal(checkSenderOwnership(from, 'taro', owned), null, from);
  }
});

t.test("refuses a sender address not owned by the authenticated user with 553 5.7.1", async (t) => {
  for (const from of ['hanako@local.example', 'taro@foreign.example', 'taro%local.example@foreign.example', '"taro@local.example"@foreign.example',
    'taro@sub.local.example', 'taro@[127.0.0.1]']) {
    t.match(checkSenderOwnership(from, 'taro', owned), { code: 553, enhanced: '5.7.1', text: /Sender address rejected: not owned by user taro$/ }, from);
  }
  t.match(checkSenderOwnership('hanako@local.example', 'taro', owned), { text: /^<hanako@local\.example>: / }, 'names the address');
  t.match(checkSenderOwnership('taro@local.example', 'taro', []), { code: 553 }, 'a user with no addresses owns none');
});

t.test('refuses the null sender from an authenticated user', async (t) => {
  t.match(checkSenderOwnership('', 'taro', owned), { code: 553, enhanced: '5.7.1', text: /null sender.*delivery reports.*taro/ });
});

t.test('answers a malformed sender with 501 5.1.7 before asking whose it is', async (t) => {
  const rows: Array<[string, number, string, RegExp]> = [
    ['taro', 501, '5.1.7', /needs a domain/],
    ['taro@', 501, '5.1.7', /needs a domain/],
    ['taro@192.0.2.1', 501, '5.1.7', /bracketed/],
    ['a@b@local.example', 501, '5.1.7', /must be quoted/],
    ['ta ro@local.example', 501, '5.1.7', /^Sender address syntax error/],
    ['たろう@local.example', 553, '5.6.7', /SMTPUTF8/],
  ];
  for (const [from, code, enhanced, text] of rows) {
    t.match(checkSenderOwnership(from, 'taro', owned), { code, enhanced, text }, from);
  }
});

t.test('accepts any well-formed reverse-path, and the null sender, from the MTA side', async (t) => {
  t.match(decideMailFrom(''), { action: 'accept', address: '' }, 'null sender for bounces');
  t.match(decideMailFrom('Someone@Foreign.Example.'), { action: 'accept', address: 'Someone@foreign.example' }, 'trailing dot dropped');
  t.match(decideMailFrom('@a.example:someone@foreign.example'), { action: 'accept', address: 'someone@foreign.example' }, 'source route ignored');
  t.match(decideMailFrom('bounce+x%y@foreign.example'), { action: 'accept' }, '% is ordinary in a sender');
  t.match(decideMailFrom('someone@bücher.de'), { action: 'accept', address: 'someone@xn--bcher-kva.de' }, 'IDN to A-labels');
  t.match(decideMailFrom('たろう@example.jp', { smtputf8: true }), { action: 'accept', address: 'たろう@example.jp' }, 'SMTPUTF8');
  t.match(decideMailFrom('someone'), { action: 'reject', code: 501, enhanced: '5.1.7', reason: 'no-domain' });
  t.match(decideMailFrom('x'.repeat(300)), { action: 'reject', code: 501, enhanced: '5.1.7', reason: 'too-long' });
});

t.test('checks ownership against the addresses the user store gives a real user', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-sender-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await ConfigStore.open(dir);
  await store.set('domains', 'local.example, other.example');
  const users = new Users(store);
  await users.add('taro', 'correct horse battery', { addresses: ['Taro.Yamada@Local.Example'] });
  const mine = users.addressesOf('taro');
  t.equal(checkSenderOwnership('taro@other.example', 'taro', mine), null, 'name@every local domain');
  t.equal(checkSenderOwnership('taro.yamada@local.example', 'taro', mine), null, 'an extra address, case-folded');
  t.match(checkSenderOwnership('hanako@local.example', 'taro', mine), { code: 553, enhanced: '5.7.1' }, 'someone else');
});
