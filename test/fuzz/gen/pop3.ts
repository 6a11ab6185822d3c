// POP3 client sessions (RFC 1939, RFC 2449 CAPA, RFC 5034 AUTH, RFC 2595 STLS): real commands
// with hostile arguments, often after a real login so the TRANSACTION state is fuzzed too.
import fc from 'fast-check';
import { line, noise, oddText, longText, session, type Line, type Session, type Step } from './session.ts';
import { ALICE } from '../wire.ts';

export type Pop3Step = Step;
export type Pop3Session = Session<Pop3Step>;

const b64 = (s: string) => Buffer.from(s).toString('base64');
const n = fc.oneof(fc.constantFrom('1', '2', '3', '0', '-1', '4294967296', '1.5', '+1', '01', ' 1', ''), fc.integer({ min: 4, max: 100 }).map(String), oddText(4));

const command: fc.Arbitrary<string> = fc.oneof(
  // The TRANSACTION state's commands on messages that exist, most often (RETR and TOP stream them).
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom('RETR', 'TOP', 'LIST', 'UIDL', 'DELE', 'RETR', 'TOP'), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 30 })).map(([v, m, l]) => (v === 'TOP' ? `TOP ${m} ${l}` : `${v} ${m}`)) },
  fc.tuple(fc.constantFrom('USER', 'user'), fc.oneof(fc.constantFrom('alice', 'ALICE', 'nobody', ''), oddText(40))).map(([v, a]) => `${v} ${a}`),
  fc.tuple(fc.constant('PASS'), fc.oneof(fc.constantFrom(ALICE.password, 'wrong', ''), oddText(40))).map(([v, a]) => `${v} ${a}`),
  fc.tuple(fc.oneof(fc.constantFrom('alice'), oddText(10)), fc.oneof(fc.constantFrom('0123456789abcdef0123456789abcdef', ''), oddText(32))).map(([u, d]) => `APOP ${u} ${d}`),
  fc.constantFrom('STAT', 'LIST', 'UIDL', 'NOOP', 'RSET', 'CAPA', 'STLS', 'QUIT', 'AUTH', 'LAST', 'stat', 'list ', 'TOP', 'RETR', 'DELE'),
  fc.tuple(fc.constantFrom('LIST', 'UIDL', 'RETR', 'DELE', 'TOP', 'STAT', 'NOOP'), n, fc.option(n, { freq: 3 })).map(([v, a, b]) => `${v} ${a}${b === null ? '' : ` ${b}`}`),
  fc.tuple(fc.constantFrom('AUTH PLAIN', 'AUTH LOGIN', 'AUTH CRAM-MD5', 'AUTH plain', 'AUTH X'), fc.constantFrom('', ` ${b64(`\0alice\0${ALICE.password}`)}`, ` ${b64('alice\0alice\0x')}`, ' =', ' *', ` ${b64('\0' + 'a'.repeat(400) + '\0b')}`)).map(([v, a]) => v + a),
  fc.constantFrom('*', '=', b64(`\0alice\0${ALICE.password}`), ''),
  oddText(40),
  fc.tuple(fc.constantFrom('USER ', 'PASS ', 'LIST ', ''), longText).map(([v, a]) => v + a),
);

const step: fc.Arbitrary<Pop3Step> = fc.oneof({ weight: 12, arbitrary: line(command) }, { weight: 1, arbitrary: noise });

const crlf = (text: string): Line => ({ kind: 'line', text, ending: 'crlf' });
const login = fc.constantFrom<Pop3Step[]>([], [crlf('USER alice'), crlf(`PASS ${ALICE.password}`)], [crlf(`AUTH PLAIN ${b64(`\0alice\0${ALICE.password}`)}`)]);

export const pop3Session: fc.Arbitrary<Pop3Session> = session(step, login, 12);
