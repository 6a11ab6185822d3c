// The bridge between our resolver and mailauth's `resolver` option (dns.promises.resolve shape).
import type { DNSResolver } from 'mailauth';
import type { DnsResolver } from '../dns/resolver.ts';

export function mailauthResolver(dns: DnsResolver): DNSResolver {
  // mailauth types the answer as string lists; MX answers are objects, which it handles itself.
  return (name, rrtype) => dns.resolve(name, rrtype) as Promise<string[][] | string[]>;
}
