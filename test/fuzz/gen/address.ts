// Envelope addresses built from parts: local parts with the routing tricks (%, !, @, quoting,
// escapes, Unicode, odd dots), domains spelled every way one domain can be (case, trailing dots,
// IDNA, full-width letters, IP literals of the board and of others, bare IPs), source routes,
// and now and then raw text. The same parts serve the SMTP sessions (gen/smtp.ts).
import fc from 'fast-check';

/** The fuzzed firmware's local domain, and the IDN one the relay target adds. */
export const LOCAL_DOMAIN = 'yubin.test';
export const IDN_DOMAIN = 'bücher.test';

const atom = fc.stringMatching(/^[a-z0-9][a-z0-9+_-]{0,10}$/);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const trickChar = fc.constantFrom('%', '!', '@', '"', '\\', '.', ' ', ':', ',', '<', '>', '[', ']', '(', ')', ';', '\u00e9', '\u3042', '\u202e', '\u200b', '\ufeff', '\0', '\t');

/** A local part as written: plain, tricked, quoted, long, or odd. */
export const localPart: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('alice', 'Alice', 'ALICE', 'postmaster', 'Postmaster', 'abuse', 'nobody') },
  { weight: 6, arbitrary: fc.array(atom, { minLength: 1, maxLength: 3 }).map((w) => w.join('.')) },
  // The percent hack, bang paths, nested "@", with the foreign host on either side.
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('%', '!', '@', '%%', '@@'), fc.constantFrom('alice', 'victim'), fc.constantFrom('foreign.example', 'yubin.test', '[192.0.2.1]', 'FOREIGN.EXAMPLE.')).map(([sep, user, host]) => (sep === '!' ? `${host}!${user}` : `${user}${sep}${host}`)) },
  // Quoted strings holding tricks, escapes, spaces; sometimes unterminated.
  { weight: 3, arbitrary: fc.tuple(fc.array(fc.oneof(atom, trickChar), { maxLength: 6 }), fc.boolean()).map(([parts, close]) => `"${parts.join('')}${close ? '"' : ''}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('"', '\\"', '\\\\'), atom).map(([q, a]) => `"${a}${q}${a}"`) },
  // Dots where RFC 5321 has none (old Japanese mobile addresses look like this).
  { weight: 1, arbitrary: fc.tuple(atom, fc.constantFrom(0, 1, 2)).map(([a, k]) => [`.${a}`, `${a}.`, `${a}..x`][k]!) },
  { weight: 1, arbitrary: fc.array(fc.oneof(atom, trickChar), { minLength: 1, maxLength: 8 }).map((p) => p.join('')) },
  { weight: 1, arbitrary: fc.constantFrom('ユーザー', 'ｕｓｅｒ', 'user\u0301', 'ü') },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 1100 }).map((n) => 'a'.repeat(n)) },
  { weight: 1, arbitrary: fc.constant('') },
);

const v4 = fc.constantFrom('127.0.0.1', '127.0.0.2', '192.0.2.1', '0.0.0.0', '255.255.255.255', '127.1', '0177.0.0.1', '2130706433', '1.2.3.4.5');
const v6 = fc.constantFrom('::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:127.0.0.1', '2001:db8::1', 'fe80::1%eth0', '::', '1::2::3', 'IPv6:::1');

/** A domain as written: local ones in many spellings, foreign ones that look local, literals. */
export const domain: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(LOCAL_DOMAIN, 'YUBIN.TEST', 'Yubin.Test', 'yubin.test.', 'yubin.test..', 'ｙｕｂｉｎ.ｔｅｓｔ', 'yubin。test', IDN_DOMAIN, 'BÜCHER.TEST', 'xn--bcher-kva.test', 'xn--bcher-kva.test.') },
  { weight: 4, arbitrary: fc.constantFrom('foreign.example', 'FOREIGN.EXAMPLE.', 'yubin.test.foreign.example', 'sub.yubin.test', 'evilyubin.test', 'yubin.testx', 'yubin-test', 'yubin.test\u200b', 'yubin.tes', 'test', '.yubin.test', 'yubin..test', 'xn--bcher-kva.com', 'bücher.com', 'localhost') },
  { weight: 3, arbitrary: fc.oneof(v4.map((a) => `[${a}]`), v6.map((a) => `[IPv6:${a}]`), v6.map((a) => `[${a}]`), v4.map((a) => `[${a}].`), fc.constantFrom('[127.0.0.1', '[]', '[IPv6:]', '[ipv6:::FFFF:127.0.0.1]')) },
  { weight: 2, arbitrary: fc.oneof(v4, v6) },
  { weight: 1, arbitrary: fc.array(label, { minLength: 1, maxLength: 40 }).map((l) => l.join('.')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

/** "@a,@b:" in front of the mailbox (RFC 5321 Appendix C), well or badly formed. */
const sourceRoute = fc.oneof(
  fc.array(domain, { minLength: 1, maxLength: 3 }).map((hops) => `${hops.map((h) => `@${h}`).join(',')}:`),
  fc.constantFrom('@:', '@yubin.test', '@yubin.test,', ':', '@[IPv6:::1]:', '@,@:'),
);

/** The arbitrary's text one time in five, else nothing. */
const rarely = (a: fc.Arbitrary<string>) => fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: a });

/** The text between < and > of MAIL FROM or RCPT TO. */
export const envelopeAddress: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(rarely(sourceRoute), localPart, fc.oneof({ weight: 12, arbitrary: domain.map((d) => `@${d}`) }, fc.constant(''))).map((p) => p.join('')) },
  { weight: 2, arbitrary: fc.tuple(localPart, domain, domain).map(([l, a, b]) => `${l}@${a}@${b}`) },
  { weight: 1, arbitrary: fc.tuple(localPart, domain).map(([l, d]) => `${l}@${d}@`) },
  { weight: 1, arbitrary: fc.constantFrom('', '@', '<>', 'Postmaster', 'postmaster@', 'POSTMASTER', '"postmaster"', 'alice@yubin.test>', '<alice@yubin.test') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
);
