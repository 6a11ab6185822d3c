// APOP (RFC 1939 §7): the greeting carries a timestamp unique to the connection; the client proves
// it knows the shared secret by sending MD5(timestamp + secret) in hex, so the secret never crosses
// the wire. MD5 has known attacks against this use (Leurent 2007), which is why STLS/POP3S is the
// recommended path and APOP only the countermeasure of docs/REQUIREMENTS.md §2 for clients that cannot do TLS.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

let counter = 0;

/** `<pid.counter.time.random@host>`: unique per connection, as §7 requires, and not guessable. */
export function apopTimestamp(host: string, now = Date.now()): string {
  counter = (counter + 1) % 1_000_000_000;
  return `<${process.pid}.${counter}.${Math.floor(now / 1000)}.${randomBytes(8).toString('hex')}@${host}>`;
}

/** MD5(timestamp + secret) as 32 lower-case hex digits. */
export function apopDigest(timestamp: string, secret: string): string {
  return createHash('md5').update(timestamp + secret, 'utf8').digest('hex');
}

const DIGEST_RE = /^[0-9a-f]{32}$/;

/**
 * Whether `digest` answers `timestamp` for `secret`, compared in constant time. A null secret
 * (unknown user, or APOP not enabled) is checked against a random one so it costs the same.
 */
export function apopMatches(timestamp: string, secret: string | null, digest: string): boolean {
  const given = digest.toLowerCase();
  const expected = apopDigest(timestamp, secret ?? randomBytes(16).toString('hex'));
  const wellFormed = DIGEST_RE.test(given);
  const same = timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(wellFormed ? given : expected.replace(/./g, 'x'), 'latin1'));
  return wellFormed && same && secret !== null;
}
