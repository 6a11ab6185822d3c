import t, { type Test } from 'tap';
import { decideRcpt, RELAY_ATTEMPT_REASONS, type RelayClient, type RelaySite, type RcptDecision } from '../../src/policy/relay.ts';

const mailboxes = new Set(['taro@local.example', 'postmaster@local.example', 'hanako@other.example', 'info@xn--bcher-kva.de']);

function site(role: RelaySite['role'] = 'all-in-one', overrides: Partial<RelaySite> = {}): RelaySite {
  return {
    role,
    localDomains: ['local.example', 'Other.Example.', 'bücher.de'],
    boardAddresses: ['127.0.0.1', '::1', '192.0.2.25'],
    // As src/route/route.ts answers: a mailbox for each known address, none for the rest.
    routes: (a) => (mailboxes.has(a) ? [{ address: a, route: { kind: 'mailbox', user: a.split('@')[0]! } }] : []),
    ...overrides,
  };
}

const outside: RelayClient = { address: '127.0.0.9', trusted: false, authenticated: false, leased: false };
const insiders: Array<[string, RelayClient]> = [
  ['trusted network', { address: '127.0.0.2', trusted: true, authenticated: false, leased: false }],
  ['SMTP AUTH', { address: '127.0.0.9', trusted: false, authenticated: true, leased: false }],
  ['POP-before-SMTP lease', { address: '127.0.0.9', trusted: false, authenticated: false, leased: true }],
];

type Expect = Partial<{ action: 'accept' | 'reject'; address: string; routes: object[]; code: number; enhanced: string; reason: string; text: RegExp }>;

function check(t: Test, d: RcptDecision, want: Expect, name: string): void {
  t.match(d, want, name);
}

t.test('row 1: anyone may send to a local domain, which goes to a local mailbox', async (t) => {
  const rows: Array<[string, Expect]> = [
    ['taro@local.example', { action: 'accept', address: 'taro@local.example', routes: [{ route: { kind: 'mailbox' } }] }],
    ['TARO@LOCAL.EXAMPLE', { action: 'accept', address: 'taro@local.example', routes: [{ route: { kind: 'mailbox' } }] }],
    ['Hanako@other.example', { action: 'accept', address: 'hanako@other.example' }],
    ['"taro"@local.example', { action: 'accept', address: 'taro@local.example' }],
    ['info@bücher.de', { action: 'accept', address: 'info@xn--bcher-kva.de' }],
    ['info@xn--bcher-kva.de', { action: 'accept', address: 'info@xn--bcher-kva.de' }],
    ['nobody@local.example', { action: 'reject', code: 550, enhanced: '5.1.1', reason: 'unknown-user', text: /nobody@local\.example.*no such user/ }],
  ];
  for (const [rcpt, want] of rows) check(t, decideRcpt(rcpt, outside, site()), want, rcpt);
});

t.test('row 1: accepts <Postmaster> without a domain from anyone (RFC 5321 §4.1.1.3)', async (t) => {
  for (const rcpt of ['Postmaster', 'POSTMASTER', 'postmaster']) {
    check(t, decideRcpt(rcpt, outside, site()), { action: 'accept', address: 'postmaster@local.example', routes: [{ route: { kind: 'mailbox' } }] }, rcpt);
    check(t, decideRcpt(rcpt, insiders[0]![1], site()), { action: 'accept', address: 'postmaster@local.example' }, `${rcpt} trusted`);
  }
});

t.test('"postmaster@" (an empty domain) is refused from a stranger, as user@ is; only the bare word is Postmaster', async (t) => {
  check(t, decideRcpt('postmaster@', outside, site()), { action: 'reject', reason: 'no-domain' }, 'postmaster@');
});

t.test("row 1: an IP literal of the board itself counts as a local domain", async (t) => {
  for (const rcpt of ['postmaster@[127.0.0.1]', 'postmaster@[IPv6:::1]', 'Postmaster@[IPv6:0:0:0:0:0:0:0:1]', 'postmaster@[IPv6:::ffff:127.0.0.1]', 'postmaster@[192.0.2.25]']) {
    check(t, decideRcpt(rcpt, outside, site()), { action: 'accept', address: 'postmaster@local.example', routes: [{ route: { kind: 'mailbox' } }] }, rcpt);
  }
  check(t, decideRcpt('nobody@[127.0.0.1]', outside, site()), { action: 'reject', code: 550, reason: 'unknown-user' }, 'unknown user at the board literal');
  check(t, decideRcpt('postmaster@[127.0.0.1]', outside, site('all-in-one', { boardAddresses: ['[127.0.0.1]'] })),
    { action: 'accept' }, 'board address given bracketed');
});

t.test('row 3: refuses relay to a foreign domain from an outside client', async (t) => {
  for (const rcpt of ['victim@foreign.example', 'VICTIM@FOREIGN.EXAMPLE', 'victim@local.example.foreign.example', 'victim@foreignlocal.example',
    'victim@sub.local.example', 'victim@example', 'victim@xn--bcher-kva.com']) {
    check(t, decideRcpt(rcpt, outside, site()),
      { action: 'reject', code: 554, enhanced: '5.7.1', reason: 'relay-denied', text: /^<.*>: Relay access denied/ }, rcpt);
  }
});

// Sender-specified routing, each with the reason the log and alert will carry.
const tricks: Array<[string, (domain: string) => string]> = [
  ['percent-hack', (d) => `victim%foreign.example@${d}`],
  ['percent-hack', (d) => `victim%foreign.example%relay.example@${d}`],
  ['bang-path', (d) => `foreign.example!victim@${d}`],
  ['nested-at', (d) => `victim@foreign.example@${d}`],
  ['quoted-at', (d) => `"victim@foreign.example"@${d}`],
  ['percent-hack', (d) => `"victim%foreign.example"@${d}`],
  ['bang-path', (d) => `"foreign.example!victim"@${d}`],
  ['source-route', (d) => `@${d}:victim@foreign.example`],
  ['source-route', (d) => `@foreign.example,@relay.example:taro@${d}`],
];
const domainSpellings = ['local.example', 'LOCAL.EXAMPLE', 'Local.Example', 'foreign.example', 'FOREIGN.EXAMPLE', '[127.0.0.1]', '[IPv6:::1]'];

t.test('refuses every sender-specified routing form from an outside client, whatever the domain', async (t) => {
  for (const [reason, make] of tricks) {
    for (const domain of domainSpellings) {
      const rcpt = make(domain);
      check(t, decideRcpt(rcpt, outside, site()), { action: 'reject', code: 554, enhanced: '5.7.1', reason, text: /Relay access denied/ }, rcpt);
    }
  }
});

t.test('refuses domainless, bare-IP, foreign-literal and trailing-dot recipients from an outside client', async (t) => {
  const rows: Array<[string, string]> = [
    ['victim', 'no-domain'], ['taro', 'no-domain'], ['taro@', 'no-domain'], ['"postmaster@foreign.example"', 'quoted-at'],
    ['taro@127.0.0.1', 'bare-ip'], ['taro@192.0.2.25', 'bare-ip'], ['taro@::1', 'bare-ip'],
    ['victim@[192.0.2.99]', 'foreign-ip-literal'], ['victim@[IPv6:2001:db8::99]', 'foreign-ip-literal'],
    ['taro@local.example.', 'trailing-dot'], ['TARO@LOCAL.EXAMPLE.', 'trailing-dot'], ['victim@foreign.example.', 'trailing-dot'],
    ['postmaster@[127.0.0.1].', 'trailing-dot'],
  ];
  for (const [rcpt, reason] of rows) {
    check(t, decideRcpt(rcpt, outside, site()), { action: 'reject', code: 554, enhanced: '5.7.1', reason }, rcpt);
  }
  // The reply quotes the address as sent, so the sender sees the dot that was refused.
  check(t, decideRcpt('TARO@LOCAL.EXAMPLE.', outside, site()), { text: /^<TARO@LOCAL\.EXAMPLE\.>: Relay access denied: a domain ending in "\."/ }, 'echoes the address as sent');
});

t.test('row 2: trusted, authenticated and leased clients may relay to any domain', async (t) => {
  for (const [who, client] of insiders) {
    const rows: Array<[string, Expect]> = [
      ['victim@foreign.example', { action: 'accept', address: 'victim@foreign.example', routes: [{ route: { kind: 'remote', domain: 'foreign.example' } }] }],
      ['Friend@Foreign.Example.', { action: 'accept', address: 'Friend@foreign.example', routes: [{ route: { kind: 'remote', domain: 'foreign.example' } }] }],
      ['taro@local.example', { action: 'accept', address: 'taro@local.example', routes: [{ route: { kind: 'mailbox' } }] }],
      ['nobody@local.example', { action: 'reject', code: 550, enhanced: '5.1.1', reason: 'unknown-user' }],
      // No percent hack, no bang paths: the local part is taken as written (allow_percent_hack = no).
      ['user%host@foreign.example', { action: 'accept', address: 'user%host@foreign.example', routes: [{ route: { kind: 'remote', domain: 'foreign.example' } }] }],
      ['taro%foreign.example@local.example', { action: 'reject', code: 550, reason: 'unknown-user' }],
      ['foreign.example!taro@local.example', { action: 'reject', code: 550, reason: 'unknown-user' }],
      ['"a@b"@foreign.example', { action: 'accept', address: '"a@b"@foreign.example' }],
      ['"taro@foreign.example"@local.example', { action: 'reject', code: 550, reason: 'unknown-user' }],
      ['@relay.example:friend@foreign.example', { action: 'accept', address: 'friend@foreign.example', routes: [{ route: { kind: 'remote', domain: 'foreign.example' } }] }],
      ['friend@[192.0.2.99]', { action: 'accept', routes: [{ route: { kind: 'remote', domain: '[192.0.2.99]' } }] }],
      ['friend@bücher.com', { action: 'accept', routes: [{ route: { kind: 'remote', domain: 'xn--bcher-kva.com' } }] }],
      ['postmaster@[127.0.0.1]', { action: 'accept', address: 'postmaster@local.example', routes: [{ route: { kind: 'mailbox' } }] }],
      // Still errors a user can act on:
      ['a@b@foreign.example', { action: 'reject', code: 501, enhanced: '5.1.3', reason: 'nested-at', text: /must be quoted/ }],
      ['friend', { action: 'reject', code: 501, enhanced: '5.1.3', reason: 'no-domain', text: /needs a domain/ }],
      ['friend@', { action: 'reject', code: 501, enhanced: '5.1.3', reason: 'no-domain' }],
      ['friend@192.0.2.99', { action: 'reject', code: 501, enhanced: '5.1.3', reason: 'bare-ip', text: /bracketed/ }],
      ['friend@foreign..example', { action: 'reject', code: 501, enhanced: '5.1.3', reason: 'syntax' }],
    ];
    for (const [rcpt, want] of rows) check(t, decideRcpt(rcpt, client, site()), want, `${who}: ${rcpt}`);
  }
});

t.test('edge role routes local domains to the internal server', async (t) => {
  const edge = site('edge', { routes: (a) => [{ address: a, route: { kind: 'internal' } }] });
  check(t, decideRcpt('anyone@local.example', outside, edge), { action: 'accept', address: 'anyone@local.example', routes: [{ route: { kind: 'internal' } }] }, 'outside → local domain');
  check(t, decideRcpt('Anyone@OTHER.example', outside, edge), { action: 'accept', address: 'anyone@other.example', routes: [{ route: { kind: 'internal' } }] }, 'upper-case');
  check(t, decideRcpt('postmaster@[127.0.0.1]', outside, edge), { action: 'accept', routes: [{ route: { kind: 'internal' } }] }, 'board literal');
  check(t, decideRcpt('Postmaster', outside, edge), { action: 'accept', routes: [{ route: { kind: 'internal' } }] }, 'bare postmaster');
  check(t, decideRcpt('victim@foreign.example', outside, edge), { action: 'reject', code: 554, reason: 'relay-denied' }, 'outside → foreign');
  check(t, decideRcpt('victim%foreign.example@local.example', outside, edge), { action: 'reject', code: 554, reason: 'percent-hack' }, 'percent hack to a local domain');
  check(t, decideRcpt('friend@foreign.example', insiders[0]![1], edge), { action: 'accept', routes: [{ route: { kind: 'remote', domain: 'foreign.example' } }] }, 'office → foreign');
  check(t, decideRcpt('taro@local.example', insiders[0]![1], edge), { action: 'accept', routes: [{ route: { kind: 'internal' } }] }, 'office → local domain');
});

t.test('internal role keeps local domains in local mailboxes', async (t) => {
  check(t, decideRcpt('taro@local.example', outside, site('internal')), { action: 'accept', routes: [{ route: { kind: 'mailbox' } }] }, 'local');
  check(t, decideRcpt('victim@foreign.example', outside, site('internal')), { action: 'reject', code: 554, reason: 'relay-denied' }, 'foreign');
});

t.test('answers malformed recipients with 501 5.1.3 and the reason', async (t) => {
  const rows: Array<[string, Expect]> = [
    ['', { code: 501, enhanced: '5.1.3', reason: 'null-recipient', text: /<> may only be a sender/ }],
    ['a b@local.example', { code: 501, enhanced: '5.1.3', reason: 'syntax', text: /^Recipient address syntax error: .*" "/ }],
    [`${'a'.repeat(65)}@local.example`, { code: 501, enhanced: '5.1.3', reason: 'too-long', text: /64 octets/ }],
    ['taro@[999.0.0.1]', { code: 501, enhanced: '5.1.3', reason: 'syntax' }],
    ['taro@local.example\r\n', { code: 501, enhanced: '5.1.3', reason: 'syntax' }],
    ['たろう@local.example', { code: 553, enhanced: '5.6.7', reason: 'needs-smtputf8', text: /SMTPUTF8/ }],
  ];
  for (const [rcpt, want] of rows) {
    check(t, decideRcpt(rcpt, outside, site()), { action: 'reject', ...want }, JSON.stringify(rcpt));
    check(t, decideRcpt(rcpt, insiders[1]![1], site()), { action: 'reject', ...want }, `authenticated ${JSON.stringify(rcpt)}`);
  }
  check(t, decideRcpt('たろう@local.example', { ...outside, smtputf8: true }, site()), { action: 'reject', code: 550, reason: 'unknown-user' }, 'SMTPUTF8 declared');
});

t.test('a site without local domains relays nothing for outside clients', async (t) => {
  const bare = site('all-in-one', { localDomains: [] });
  check(t, decideRcpt('taro@local.example', outside, bare), { action: 'reject', code: 554, reason: 'relay-denied' }, 'no local domains');
  check(t, decideRcpt('postmaster@[127.0.0.1]', outside, bare), { action: 'reject', reason: 'unknown-user' }, 'literal with no primary domain stays a literal');
});

t.test('every 554 5.7.1 is a relay attempt and every relay attempt is a 554 5.7.1', async (t) => {
  const seen = new Set<string>();
  for (const [, make] of tricks) {
    for (const domain of domainSpellings) {
      const d = decideRcpt(make(domain), outside, site());
      if (d.action === 'reject') seen.add(`${d.reason} ${d.code} ${d.enhanced}`);
    }
  }
  for (const rcpt of ['victim', 'taro@127.0.0.1', 'v@[192.0.2.99]', 'taro@local.example.', 'v@foreign.example', 'nobody@local.example', '']) {
    const d = decideRcpt(rcpt, outside, site());
    if (d.action === 'reject') seen.add(`${d.reason} ${d.code} ${d.enhanced}`);
  }
  for (const entry of seen) {
    const [reason, code, enhanced] = entry.split(' ') as [string, string, string];
    const attempt = RELAY_ATTEMPT_REASONS.has(reason as never);
    t.equal(attempt, code === '554' && enhanced === '5.7.1', entry);
  }
  t.equal(seen.size >= 12, true, 'covered most reasons');
});

// A seeded generator of hostile recipients built from the characters that route mail.
function* hostile(count: number): Generator<string> {
  let seed = 0x5eed;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pieces = ['@', '%', '!', '"', ':', ',', '.', '[', ']', '\\', ' ', 'local.example', 'LOCAL.EXAMPLE', 'foreign.example',
    'taro', 'postmaster', '127.0.0.1', 'IPv6:::1', '192.0.2.99', 'たろう', 'xn--bcher-kva.de', 'bücher.de'];
  for (let i = 0; i < count; i++) {
    let s = '';
    const n = 1 + Math.floor(next() * 8);
    for (let j = 0; j < n; j++) s += pieces[Math.floor(next() * pieces.length)];
    yield s;
  }
}

t.test('never relays a generated hostile recipient from an outside client', async (t) => {
  const leaks: string[] = [];
  let accepted = 0;
  const started = performance.now();
  for (const rcpt of hostile(20000)) {
    const d = decideRcpt(rcpt, outside, site('edge', { routes: (a) => [{ address: a, route: { kind: 'internal' } }] }));
    if (d.action !== 'accept') continue;
    accepted++;
    const localDomain = /@(local\.example|other\.example|xn--bcher-kva\.de)$/.test(d.address);
    if (d.routes.some((r) => r.route.kind !== 'internal') || !localDomain || /[%!"]|@.*@/.test(d.address)) leaks.push(`${rcpt} → ${d.address}`);
  }
  t.same(leaks, [], 'accepted only plain local-domain mailboxes');
  t.ok(accepted > 0, `some generated recipients were plain local mailboxes (${accepted})`);
  t.ok(performance.now() - started < 5000, 'judged 20000 recipients in under 5 s');
});
