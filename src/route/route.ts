// Where each recipient's copy goes, decided once when the message is accepted (a typed value the
// queue manager obeys): a local mailbox, the internal server (edge role), or a remote domain.
// Aliases are expanded here, so RCPT can answer 550 5.1.1 for a local address nobody owns.
import type { Route, Routed } from '../mail/types.ts';
import { comparableDomain } from '../address/parse.ts';

export type Role = 'all-in-one' | 'edge' | 'internal';

export interface RouteSite {
  role: Role;
  localDomains: readonly string[];
  isUser(name: string): boolean;
  /** alias (local part, or full address) → targets (user names or addresses) */
  aliases: Readonly<Record<string, readonly string[]>>;
  /** The `postmaster` setting: where postmaster@ and abuse@ go when no alias says otherwise. */
  postmaster: string;
}



const MAX_ALIAS_DEPTH = 8;

/** RFC 5321 §4.5.1 (postmaster) and RFC 2142 (abuse): they exist on every local domain. */
export const ROLE_ADDRESSES: ReadonlySet<string> = new Set(['postmaster', 'abuse']);
/** The mailbox the board always keeps for them, user or not (the `postmaster` default). */
export const POSTMASTER_MAILBOX = 'postmaster';
const MAX_EXPANSION = 100;

function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return at < 0 ? { local: address, domain: '' } : { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** The one domain comparison (src/address/parse.ts comparableDomain: case, trailing dot, IDNA), as the relay table uses. */
export function isLocalDomain(domain: string, site: RouteSite): boolean {
  const d = comparableDomain(domain.replace(/\.$/, ''));
  return d !== null && site.localDomains.some((l) => comparableDomain(l) === d);
}

/**
 * Routes for one normalised recipient address. Returns [] when the address is in a local domain
 * but names no user or alias (the caller answers 550 5.1.1).
 */
export function routeRecipient(address: string, site: RouteSite): Routed[] {
  const out: Routed[] = [];
  expand(address.toLowerCase(), site, 0, out, new Set());
  return out;
}

function expand(address: string, site: RouteSite, depth: number, out: Routed[], seen: Set<string>): void {
  if (seen.has(address) || out.length >= MAX_EXPANSION) return;
  seen.add(address);
  const { local, domain } = splitAddress(address);
  if (!isLocalDomain(domain, site)) {
    out.push({ address, route: { kind: 'remote', domain } });
    return;
  }
  if (site.role === 'edge') {
    // The edge stores nothing: the internal server knows the mailboxes.
    out.push({ address, route: { kind: 'internal' } });
    return;
  }
  const targets = site.aliases[address] ?? site.aliases[local];
  if (targets && depth < MAX_ALIAS_DEPTH) {
    for (const t of targets) {
      const target = t.toLowerCase();
      expand(target.includes('@') ? target : `${target}@${domain}`, site, depth + 1, out, seen);
    }
    return;
  }
  if (ROLE_ADDRESSES.has(local) && !site.isUser(local)) {
    const target = site.postmaster.toLowerCase();
    // An address that leads back here (postmaster@ a local domain) ends in the kept mailbox.
    if (target.includes('@') && !seen.has(target)) expand(target, site, depth + 1, out, seen);
    else out.push({ address, route: { kind: 'mailbox', user: target.includes('@') ? POSTMASTER_MAILBOX : target } });
    return;
  }
  // Sub-addressing: alice+invoices@ goes to alice (RFC 5233 convention).
  const user = local.split('+')[0] ?? local;
  if (site.isUser(user)) out.push({ address, route: { kind: 'mailbox', user } });
}

/** What makes two routed copies the same delivery: a mailbox by its user, anything else by address. */
function deliveryKey(r: Routed): string {
  return r.route.kind === 'mailbox' ? `mailbox:${r.route.user}` : `${r.route.kind}:${r.address}`;
}

/**
 * The deliveries of one message: each accepted RCPT's routes, a final mailbox or address only
 * once however many RCPTs (and aliases) lead to it — Postfix's duplicate filter. The first RCPT
 * that reached it is kept as the original recipient.
 */
export function uniqueDeliveries(rcpts: ReadonlyArray<{ address: string; routes: readonly Routed[] }>): Array<{ original: string } & Routed> {
  const seen = new Set<string>();
  const out: Array<{ original: string } & Routed> = [];
  for (const rcpt of rcpts) {
    for (const r of rcpt.routes) {
      const key = deliveryKey(r);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ original: rcpt.address, ...r });
    }
  }
  return out;
}
