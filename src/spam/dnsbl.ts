// DNS block lists: client addresses (DNSBL, RFC 5782 §2.1) and sender domains (RHSBL, §2.2).
// A listing is an A record in 127.0.0.0/8; 127.255.255.x are the lists' own error codes
// (e.g. "you query through a public resolver"), not listings.
import type { Context } from '../context.ts';
import { resolverFromSettings } from '../dns/resolver.ts';
import { reversedAddress } from '../net/ip.ts';

/** The one lookup every list query goes through: our configured resolver (src/dns). */
export async function lookupA(name: string, context: Context): Promise<string[]> {
  try {
    return (await resolverFromSettings(context.store).resolve(name, 'A')) as string[];
  } catch {
    // NXDOMAIN is "not listed"; a failing list must not hold mail up either.
    return [];
  }
}

function listed(addresses: readonly string[]): boolean {
  return addresses.some((a) => a.startsWith('127.') && !a.startsWith('127.255.255.'));
}

/** Zones that list `ip`. */
export async function dnsblListings(ip: string, zones: readonly string[], context: Context): Promise<string[]> {
  const reversed = reversedAddress(ip.replace(/^::ffff:/i, ''));
  if (!reversed) return [];
  const answers = await Promise.all(zones.map(async (zone) => (listed(await lookupA(`${reversed}.${zone}`, context)) ? zone : null)));
  return answers.filter((z): z is string => z !== null);
}

/** "domain in zone" for each listed pair. */
export async function rhsblListings(domains: readonly string[], zones: readonly string[], context: Context): Promise<string[]> {
  const pairs = [...new Set(domains.filter((d) => d.length > 0))].flatMap((d) => zones.map((z) => [d, z] as const));
  const answers = await Promise.all(pairs.map(async ([d, z]) => (listed(await lookupA(`${d}.${z}`, context)) ? `${d} in ${z}` : null)));
  return answers.filter((z): z is string => z !== null);
}
