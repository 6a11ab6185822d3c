// IP address helpers for policy: normalising and CIDR membership (IPv4, IPv6, v4-mapped v6).
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';

/** "::ffff:127.0.0.2" → "127.0.0.2"; IPv6 lower-cased. */
export function normalizeIp(address: string): string {
  const a = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? mapped[1]! : a;
}

/** A set of CIDR blocks to test client addresses against. */
export function networkSet(cidrs: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/') as [string, string | undefined];
    const type = isIPv4(addr) ? 'ipv4' : 'ipv6';
    const prefix = bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits);
    list.addSubnet(addr, prefix, type);
  }
  return (address) => {
    const ip = normalizeIp(address);
    if (isIPv4(ip)) return list.check(ip, 'ipv4');
    if (isIPv6(ip)) return list.check(ip, 'ipv6');
    return false;
  };
}

/** RFC 5782 §2.1 and §2.4: reversed octets for IPv4, reversed nibbles for IPv6. */
export function reversedAddress(ip: string): string | null {
  if (isIP(ip) === 4) return ip.split('.').reverse().join('.');
  if (isIP(ip) !== 6) return null;
  const [head = '', tail = ''] = ip.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const tl = groups(tail);
  const full = [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl].map((g) => g.padStart(4, '0')).join('');
  return full.split('').reverse().join('.');
}
