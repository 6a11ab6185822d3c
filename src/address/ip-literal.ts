// IP address literals in envelope domains (RFC 5321 §4.1.3): "[192.0.2.1]", "[IPv6:2001:db8::1]".
// One canonical spelling per host, so "is this the board?" cannot be dodged by "[IPv6:0:0::1]".
import { isIPv4, isIPv6 } from 'node:net';

export interface IpLiteral {
  family: 4 | 6;
  /** Canonical address: dotted quad, or RFC 5952 IPv6; v4-mapped IPv6 becomes the dotted quad. */
  ip: string;
}

/** Canonical form of an IPv4 (dotted quad) or IPv6 address, or null if it is neither. */
export function canonicalIp(text: string): IpLiteral | null {
  if (isIPv4(text)) return { family: 4, ip: text };
  // Zone ids ("fe80::1%eth0") name an interface, not a host, and RFC 5321 §4.1.3 has none.
  if (!isIPv6(text) || text.includes('%')) return null;
  // The WHATWG URL parser compresses and lower-cases IPv6 exactly as RFC 5952 §4 asks; no I/O.
  let compressed: string;
  try {
    compressed = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
  // ::ffff:a.b.c.d is the IPv4 host a.b.c.d (RFC 4291 §2.5.5.2), so both spellings name one host.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (mapped) {
    const high = parseInt(mapped[1]!, 16);
    const low = parseInt(mapped[2]!, 16);
    return { family: 4, ip: [high >> 8, high & 255, low >> 8, low & 255].join('.') };
  }
  return { family: 6, ip: compressed };
}

/** "[192.0.2.1]" / "[IPv6:…]" inner text → canonical literal, or null when it is no IP literal. */
export function parseIpLiteral(inner: string): IpLiteral | null {
  const v6 = /^ipv6:(.*)$/i.exec(inner);
  if (v6) {
    const ip = canonicalIp(v6[1]!);
    // A dotted quad after "IPv6:" is not an IPv6 address; a v4-mapped one is fine.
    return ip !== null && isIPv6(v6[1]!) ? ip : null;
  }
  return isIPv4(inner) ? { family: 4, ip: inner } : null;
}

/** The domain spelling of a literal: "[192.0.2.1]" or "[IPv6:2001:db8::1]". */
export function formatIpLiteral(literal: IpLiteral): string {
  return literal.family === 4 ? `[${literal.ip}]` : `[IPv6:${literal.ip}]`;
}
