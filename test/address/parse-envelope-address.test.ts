import t, { type Test } from 'tap';
import { parseEnvelopeAddress, comparableDomain, type AddressFlags, type ParsedAddress } from '../../src/address/parse.ts';

function parsed(t: Test, text: string, options: { smtputf8?: boolean } = {}): ParsedAddress {
  const r = parseEnvelopeAddress(text, options);
  if (!r.ok) {
    t.fail(`${JSON.stringify(text)} should parse, got ${r.problem}: ${r.detail}`);
    throw new Error('parse failed');
  }
  return r;
}

/** A valid domain name of exactly n octets (n ≥ 5): 49-letter labels, then a last one and .com. */
function domainOf(n: number): string {
  let s = '';
  while (n - s.length > 54) s += `${'a'.repeat(49)}.`;
  return `${s}${'b'.repeat(n - s.length - 4)}.com`;
}

const noFlags: AddressFlags = {
  nullPath: false, sourceRoute: false, percent: false, bang: false, nestedAt: false, quoted: false,
  noDomain: false, bareIp: false, trailingDot: false, irregularDots: false, eightBit: false,
};

// text → the parts and the flags that must be set (all others must be clear).
const valid: Array<[string, Partial<ParsedAddress>, Partial<AddressFlags>]> = [
  ['Taro@Example.COM', { local: 'Taro', domain: 'example.com', address: 'Taro@example.com', canonical: 'taro@example.com' }, {}],
  ['user@example.com.', { domain: 'example.com', canonical: 'user@example.com' }, { trailingDot: true }],
  ['USER@LOCAL.EXAMPLE.', { domain: 'local.example', canonical: 'user@local.example' }, { trailingDot: true }],
  ['@a.example,@B.example:user@c.example', { address: 'user@c.example', route: ['a.example', 'b.example'] }, { sourceRoute: true }],
  ['@[IPv6:2001:db8::1]:user@c.example', { address: 'user@c.example', route: ['[IPv6:2001:db8::1]'] }, { sourceRoute: true }],
  ['user%remote.example@local.example', { local: 'user%remote.example', domain: 'local.example' }, { percent: true }],
  ['remote.example!user@local.example', { local: 'remote.example!user' }, { bang: true }],
  ['user@remote.example@local.example', { local: 'user@remote.example', domain: 'local.example' }, { nestedAt: true }],
  ['"user@remote.example"@local.example', { local: '"user@remote.example"', localValue: 'user@remote.example' }, { quoted: true, nestedAt: true }],
  ['"user%remote"@local.example', { localValue: 'user%remote' }, { quoted: true, percent: true }],
  ['"remote!user"@local.example', { localValue: 'remote!user' }, { quoted: true, bang: true }],
  ['"Taro"@Example.com', { local: '"Taro"', localKey: 'taro', canonical: 'taro@example.com' }, { quoted: true }],
  ['"john doe"@example.com', { localValue: 'john doe', canonical: '"john doe"@example.com' }, { quoted: true }],
  ['"a\\"b"@example.com', { local: '"a\\"b"', localValue: 'a"b' }, { quoted: true }],
  ['user', { local: 'user', domain: '', canonical: 'user' }, { noDomain: true }],
  ['user@', { local: 'user', domain: '', address: 'user' }, { noDomain: true }],
  ['Postmaster', { canonical: 'postmaster' }, { noDomain: true }],
  ['user@192.0.2.1', { domain: '192.0.2.1', ipLiteral: null }, { bareIp: true }],
  ['user@2001:db8::1', { domain: '2001:db8::1' }, { bareIp: true }],
  ['user@[192.0.2.1]', { domain: '[192.0.2.1]', ipLiteral: { family: 4, ip: '192.0.2.1' } }, {}],
  ['user@[IPv6:2001:DB8:0:0::1]', { domain: '[IPv6:2001:db8::1]', ipLiteral: { family: 6, ip: '2001:db8::1' } }, {}],
  ['user@[ipv6:0:0:0:0:0:0:0:1]', { domain: '[IPv6:::1]', ipLiteral: { family: 6, ip: '::1' } }, {}],
  ['user@[IPv6:::ffff:127.0.0.1]', { domain: '[127.0.0.1]', ipLiteral: { family: 4, ip: '127.0.0.1' } }, {}],
  ['user@[192.0.2.1].', { domain: '[192.0.2.1]' }, { trailingDot: true }],
  ['', { address: '', canonical: '' }, { nullPath: true }],
  ['taro..@docomo.ne.jp', { local: 'taro..', canonical: 'taro..@docomo.ne.jp' }, { irregularDots: true }],
  ['.taro@docomo.ne.jp', {}, { irregularDots: true }],
  ['user@bücher.de', { domain: 'bücher.de', asciiDomain: 'xn--bcher-kva.de', canonical: 'user@xn--bcher-kva.de' }, { eightBit: true }],
  ['user@xn--bcher-kva.de', { domain: 'xn--bcher-kva.de', asciiDomain: 'xn--bcher-kva.de' }, {}],
  ["o'brien+tag=x/y{z}~@example.com", { local: "o'brien+tag=x/y{z}~" }, {}],
  [`${'a'.repeat(64)}@example.com`, { local: 'a'.repeat(64) }, {}],
];

t.test('parses each envelope address form into parts and flags', async (t) => {
  for (const [text, parts, flags] of valid) {
    const r = parsed(t, text);
    for (const [key, value] of Object.entries(parts)) {
      t.same(r[key as keyof ParsedAddress], value, `${JSON.stringify(text)}: ${key}`);
    }
    t.same(r.flags, { ...noFlags, ...flags }, `${JSON.stringify(text)}: flags`);
  }
});

t.test('accepts a UTF-8 local part only when SMTPUTF8 was declared', async (t) => {
  const without = parseEnvelopeAddress('たろう@example.jp');
  t.match(without, { ok: false, problem: 'needs-smtputf8', detail: /SMTPUTF8/ });
  t.match(parseEnvelopeAddress('"たろう"@example.jp'), { ok: false, problem: 'needs-smtputf8' });
  const withIt = parsed(t, 'たろう@example.jp', { smtputf8: true });
  t.equal(withIt.canonical, 'たろう@example.jp');
  t.equal(withIt.flags.eightBit, true);
  // smtp-server turns A-labels into U-labels, so a Unicode domain alone never needs SMTPUTF8.
  t.equal(parsed(t, 'info@例え.テスト').asciiDomain, 'xn--r8jz45g.xn--zckzah');
});

// text → problem and a word the detail must contain, so the peer learns which part is wrong.
const invalid: Array<[string, 'syntax' | 'too-long', RegExp]> = [
  [`${'a'.repeat(65)}@example.com`, 'too-long', /local part.*64/],
  [`u@${domainOf(256)}`, 'too-long', /domain.*255/],
  [`${'a'.repeat(64)}@${domainOf(190)}`, 'too-long', /256/],
  ['a'.repeat(5000), 'too-long', /256/],
  [`u@${'a'.repeat(64)}.com`, 'syntax', /domain/],
  ['user@exa mple.com', 'syntax', /domain/],
  ['us er@example.com', 'syntax', /local part contains " "/],
  ['<user@example.com>', 'syntax', /local part contains "<"/],
  ['user@-x.example', 'syntax', /domain/],
  ['user@x_y.example', 'syntax', /domain/],
  ['user@.', 'syntax', /domain/],
  ['user@example.com..', 'syntax', /domain/],
  ['user@.example.com', 'syntax', /domain/],
  ['user@[300.1.1.1]', 'syntax', /literal/],
  ['user@[127.1]', 'syntax', /literal/],
  ['user@[IPv6:1.2.3.4]', 'syntax', /literal/],
  ['user@[fe80::1]', 'syntax', /literal/],
  ['user@[IPv6:fe80::1%eth0]', 'syntax', /literal/],
  ['user@[tag:anything]', 'syntax', /literal/],
  ['user@[192.0.2.1', 'syntax', /"\]"/],
  ['"unterminated@example.com', 'syntax', /closing quote/],
  ['"a"b@example.com', 'syntax', /quoted/],
  ['@example.com', 'syntax', /local part|source route/],
  ['@a.example,user@example.com', 'syntax', /source route/],
  ['@192.0.2.1:user@example.com', 'syntax', /source route/],
  ['@example.com', 'syntax', /local part/],
  ['user\x00@example.com', 'syntax', /control/],
  ['user\r\nRCPT TO:<x@y>@example.com', 'syntax', /control/],
  ['user\x7f@example.com', 'syntax', /control/],
  ['us\u200ber@example.com', 'syntax', /invisible/],
  ['user@exam\u0085ple.com', 'syntax', /control/],
];

t.test('refuses malformed addresses naming the part at fault', async (t) => {
  for (const [text, problem, detail] of invalid) {
    t.match(parseEnvelopeAddress(text), { ok: false, problem, detail }, JSON.stringify(text.slice(0, 80)));
  }
});

t.test('never echoes the raw input in an error', async (t) => {
  const r = parseEnvelopeAddress('evil\x1b[31m@example.com');
  t.equal(r.ok, false);
  if (!r.ok) t.notMatch(r.detail, /evil|\x1b/);
});

t.test('accepts a path of exactly 256 octets and refuses 257', async (t) => {
  const atLimit = `${'a'.repeat(64)}@${domainOf(254 - 65)}`;
  t.equal(Buffer.byteLength(atLimit) + 2, 256);
  t.equal(parseEnvelopeAddress(atLimit).ok, true);
  t.match(parseEnvelopeAddress(`${'a'.repeat(64)}@${domainOf(255 - 65)}`), { ok: false, problem: 'too-long' });
  // Octets, not characters: 3-octet kana count three times each.
  t.match(parseEnvelopeAddress(`${'た'.repeat(22)}@example.jp`, { smtputf8: true }), { ok: false, problem: 'too-long', detail: /local part/ });
  t.equal(parseEnvelopeAddress(`${'た'.repeat(21)}@example.jp`, { smtputf8: true }).ok, true);
});

t.test('parses a megabyte of hostile text quickly and without throwing', async (t) => {
  const started = performance.now();
  for (const text of ['@'.repeat(1e6), '"'.repeat(1e6), '['.repeat(1e6), `${'a,@'.repeat(300)}:x@y`, `@${'a.'.repeat(200)}:u@x`]) {
    t.equal(parseEnvelopeAddress(text).ok, false);
  }
  t.ok(performance.now() - started < 200, 'under 200 ms');
});

t.test('spells configured domains the way envelope domains are compared', async (t) => {
  t.equal(comparableDomain('Example.COM.'), 'example.com');
  t.equal(comparableDomain(' bücher.de '), 'xn--bcher-kva.de');
  t.equal(comparableDomain('[IPv6:0::1]'), '[IPv6:::1]');
  t.equal(comparableDomain('192.0.2.1'), null);
  t.equal(comparableDomain('not a domain'), null);
});
