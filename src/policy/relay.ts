// Where a RCPT TO is judged: the relay table of docs/REQUIREMENTS.md §4. Pure: no I/O, no clock.
//
// | # | client                                           | envelope recipient | action                                   |
// |---|--------------------------------------------------|--------------------|------------------------------------------|
// | 1 | anyone                                           | a local domain     | accept → local mailbox (all-in-one,      |
// |   |                                                  |                    |   internal role) or internal server (edge)|
// | 2 | trusted network, SMTP AUTH, or POP-before-SMTP   | any domain         | accept → outbound (remote)               |
// | 3 | anyone else                                      | a foreign domain   | 554 5.7.1 Relay access denied            |
//
// Before the table, sender-specified routing from a client of row 3 is refused whatever the domain
// (Postfix: reject_unauth_destination with allow_untrusted_routing = no, allow_percent_hack = no,
// swap_bangpath = no): "@", "%", "!" in the local part, source routes, quoted local parts holding
// them, "user@", bare IP domains, IP literals other than the board's, trailing dots. Clients of
// row 2 get no interpretation of "%" or "!" either: the local part is taken as written.
import { parseEnvelopeAddress, comparableDomain, type ParsedAddress } from '../address/parse.ts';
import { addressErrorReply, unusableForm } from '../address/reply.ts';
import { canonicalIp, formatIpLiteral } from '../address/ip-literal.ts';
import type { Reply, Routed } from '../mail/types.ts';

export interface RelayClient {
  address: string;
  /** In trustedNetworks (src/net/ip.ts networkSet). */
  trusted: boolean;
  /** SMTP AUTH succeeded on this session. */
  authenticated: boolean;
  /** Holds a POP-before-SMTP lease (ctx.leases.has). */
  leased: boolean;
  /** This transaction's MAIL FROM carried SMTPUTF8 (RFC 6531): UTF-8 local parts allowed. */
  smtputf8?: boolean;
}

export interface RelaySite {
  role: 'all-in-one' | 'edge' | 'internal';
  /** The `domains` setting. The first one is where domainless and IP-literal mail is delivered. */
  localDomains: readonly string[];
  /** IP addresses that mean "this board" in a literal: postmaster@[192.0.2.1]. */
  boardAddresses: readonly string[];
  /** Where an address's copies go (src/route/route.ts: users, aliases, the role); [] for a local
   * address nobody owns. The one answer: the RCPT check and the queue use the same routes. */
  routes(address: string): Routed[];
}

export type RejectReason =
  | 'relay-denied' | 'source-route' | 'percent-hack' | 'bang-path' | 'nested-at' | 'quoted-at'
  | 'bare-ip' | 'no-domain' | 'trailing-dot' | 'foreign-ip-literal' | 'unknown-user'
  | 'null-recipient' | 'syntax' | 'too-long' | 'needs-smtputf8';

export type RcptDecision =
  /** address: local ones get the canonical lower-case form on the primary domain for literals;
   * remote ones keep the local part as written (RFC 5321 §2.4). `routes`: where its copies go. */
  | { action: 'accept'; address: string; local: boolean; routes: Routed[] }
  | ({ action: 'reject'; reason: RejectReason } & Reply);

/** Reasons that are relay attempts: emit 'relay.denied' for these (each replied 554 5.7.1). */
export const RELAY_ATTEMPT_REASONS: ReadonlySet<RejectReason> = new Set<RejectReason>([
  'relay-denied', 'source-route', 'percent-hack', 'bang-path', 'nested-at', 'quoted-at',
  'bare-ip', 'no-domain', 'trailing-dot', 'foreign-ip-literal',
]);

function reject(reason: RejectReason, reply: Reply): RcptDecision {
  return { action: 'reject', reason, ...reply };
}

const denied = (reason: RejectReason, address: string, why: string): RcptDecision =>
  reject(reason, { code: 554, enhanced: '5.7.1', text: `<${address}>: Relay access denied: ${why}` });

/** Sender-specified routing, refused from clients that may not relay; null when there is none.
 * `a` is the text as sent (safe to echo once it parsed: no controls, at most 254 octets). */
function routingTrick(rcpt: ParsedAddress, a: string, isBoard: boolean): RcptDecision | null {
  const f = rcpt.flags;
  if (f.sourceRoute) return denied('source-route', a, 'source routes (@host:user@domain) are not accepted from unauthenticated clients');
  if (f.nestedAt && f.quoted) return denied('quoted-at', a, 'a quoted local part holding "@" is sender-specified routing');
  if (f.nestedAt) return denied('nested-at', a, 'an "@" inside the local part is sender-specified routing');
  if (f.percent) return denied('percent-hack', a, '"%" routing (user%host@domain) is not accepted from unauthenticated clients');
  if (f.bang) return denied('bang-path', a, '"!" routing (host!user@domain) is not accepted from unauthenticated clients');
  if (f.noDomain) return denied('no-domain', a, 'a recipient without a domain is not accepted from unauthenticated clients');
  if (f.bareIp) return denied('bare-ip', a, 'an IP address domain is not accepted from unauthenticated clients');
  if (rcpt.ipLiteral && !isBoard) return denied('foreign-ip-literal', a, 'that address literal is not this server');
  if (f.trailingDot) return denied('trailing-dot', a, 'a domain ending in "." is not accepted from unauthenticated clients');
  return null;
}

function undeliverable(rcpt: ParsedAddress): RcptDecision | null {
  const form = unusableForm(rcpt, 'recipient');
  return form ? reject(form.reason, form.reply) : null;
}

/** Is the literal domain one of the board's own addresses? */
function isBoardLiteral(rcpt: ParsedAddress, site: RelaySite): boolean {
  if (!rcpt.ipLiteral) return false;
  return site.boardAddresses.some((b) => {
    const ip = canonicalIp(b.replace(/^\[(ipv6:)?|\]$/gi, ''));
    return ip !== null && formatIpLiteral(ip) === rcpt.asciiDomain;
  });
}

/** Row 2 of the table: may this client send to any domain? The one place that says so. */
export function mayRelay(client: Pick<RelayClient, 'trusted' | 'authenticated' | 'leased'>): boolean {
  return client.trusted || client.authenticated || client.leased;
}

/**
 * Judge one RCPT TO: `rcpt` is smtp-server's address.address (the text between < and >).
 * The table is at the top of this file.
 */
export function decideRcpt(rcpt: string, client: RelayClient, site: RelaySite): RcptDecision {
  const parsed = parseEnvelopeAddress(rcpt, { smtputf8: client.smtputf8 ?? false });
  if (!parsed.ok) return reject(parsed.problem, addressErrorReply(parsed, 'recipient'));
  if (parsed.flags.nullPath) {
    return reject('null-recipient', { code: 501, enhanced: '5.1.3', text: 'Recipient address syntax error: the null address <> may only be a sender' });
  }

  const primary = site.localDomains.map(comparableDomain).find((d) => d !== null) ?? null;
  const relay = mayRelay(client);
  const isBoard = isBoardLiteral(parsed, site);
  // RFC 5321 §4.1.1.3: <Postmaster> without a domain must be accepted, from anyone.
  // Only the word itself: "postmaster@" is a recipient without its domain, refused as "user@" is.
  const barePostmaster = parsed.flags.noDomain && !parsed.flags.sourceRoute && parsed.canonical === 'postmaster' && !rcpt.includes('@');

  if (!barePostmaster) {
    // Row 2 clients get no routing interpretation, only errors for forms nobody can deliver.
    const refusal = relay ? undeliverable(parsed) : routingTrick(parsed, rcpt, isBoard);
    if (refusal) return refusal;
  }

  // Row 1: a local domain, the board's own literal, or bare Postmaster.
  const local = barePostmaster || isBoard || site.localDomains.some((d) => comparableDomain(d) === parsed.asciiDomain);
  if (local) {
    const address = (barePostmaster || isBoard) && primary !== null ? `${parsed.localKey}@${primary}` : parsed.canonical;
    const routes = site.routes(address);
    if (routes.length === 0) {
      return reject('unknown-user', { code: 550, enhanced: '5.1.1', text: `<${address}>: Recipient address rejected: no such user here` });
    }
    return { action: 'accept', address, local: true, routes };
  }
  // Row 2: a client that may relay, to any other domain.
  if (relay) {
    const address = `${parsed.local}@${parsed.asciiDomain}`;
    return { action: 'accept', address, local: false, routes: [{ address, route: { kind: 'remote', domain: parsed.asciiDomain } }] };
  }
  // Row 3: anyone else, to a foreign domain.
  return denied('relay-denied', rcpt, 'this server accepts mail only for its own domains unless you authenticate');
}
