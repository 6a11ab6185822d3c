// A board with DKIM keys and the zones it needs: one hand-written good zone, one deliberately
// broken in every way the wizard must name (wrong MX, SPF with trailing junk, a wrong DKIM key, a
// missing one, DMARC shadowed by a wildcard, a CNAME chain to the wrong address, a PTR naming
// the ISP, a block-list listing, a wrong SRV port, a timeout), and a domain without MX.
import { generateKeyPairSync } from 'node:crypto';
import { keygen, txtRecord } from '../../src/dkimsign/keys.ts';
import type { Zone } from '../support/dns-server.ts';

export const HOST = 'mx.yubin.test';
export const DOMAIN = 'yubin.test';
export const IP = '192.0.2.25';

export interface Keys {
  rsa: string;
  ed25519: string;
}

/** Make the board's two DKIM keys; returns their TXT values. */
export async function makeKeys(dataDir: string): Promise<Keys> {
  const rsa = await keygen(dataDir, DOMAIN, { algorithm: 'rsa-sha256' });
  const ed = await keygen(dataDir, DOMAIN, { algorithm: 'ed25519-sha256' });
  return { rsa: rsa.value, ed25519: ed.value };
}

export function settingsFor(dns: string): Record<string, unknown> {
  return {
    hostname: HOST,
    domains: [DOMAIN],
    'dns.servers': [dns],
    'dns.timeoutMs': 1500,
    'dns.tries': 1,
    'dnsrecords.publicIpv4': IP,
    'dnsrecords.blocklists': ['bl.test'],
    'smtp.submissionPort': 587,
    'smtp.smtpsPort': 465,
    'pop3.port': 110,
    'pop3.tlsPort': 995,
  };
}

const srv = (port: number, target = HOST) => ({ SRV: [{ priority: 0, weight: port === 0 ? 0 : 1, port, target: port === 0 ? '.' : target }] });

export function goodZone(keys: Keys): Zone {
  return {
    [DOMAIN]: { MX: [{ preference: 10, exchange: HOST }], TXT: ['v=spf1 mx -all', 'google-site-verification=abc'] },
    [HOST]: { A: [IP] },
    '25.2.0.192.in-addr.arpa': { PTR: [HOST] },
    [`yubin-rsa._domainkey.${DOMAIN}`]: { TXT: [keys.rsa] }, // served as several strings (over 255 bytes)
    [`yubin-ed25519._domainkey.${DOMAIN}`]: { TXT: [keys.ed25519] },
    [`_dmarc.${DOMAIN}`]: { TXT: [['v=DMARC1; p=quarantine; ', `rua=mailto:postmaster@${DOMAIN}`]] },
    [`_submission._tcp.${DOMAIN}`]: srv(587),
    [`_submissions._tcp.${DOMAIN}`]: srv(465),
    [`_pop3._tcp.${DOMAIN}`]: srv(110),
    [`_pop3s._tcp.${DOMAIN}`]: srv(995),
    [`_imap._tcp.${DOMAIN}`]: srv(0),
    [`_imaps._tcp.${DOMAIN}`]: srv(0),
  };
}

export function otherKey(): string {
  return txtRecord(DOMAIN, 'yubin-rsa', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey).value;
}

export function brokenZone(keys: Keys): Zone {
  const good = goodZone(keys);
  return {
    ...good,
    [DOMAIN]: { MX: [{ preference: 10, exchange: 'mail.elsewhere.test' }], TXT: ['v=spf1 ip4:198.51.100.1 -all trailing junk'] },
    // A wildcard answers for _dmarc: its TXT is no DMARC record.
    [`*.${DOMAIN}`]: { TXT: ['v=spf1 -all'] },
    [`_dmarc.${DOMAIN}`]: undefined as never,
    // A CNAME chain that ends at someone else's address.
    [HOST]: { CNAME: 'host1.isp.test' },
    'host1.isp.test': { CNAME: 'host2.isp.test' },
    'host2.isp.test': { A: ['192.0.2.99'] },
    '25.2.0.192.in-addr.arpa': { PTR: ['dyn-192-0-2-25.isp.test'] },
    [`yubin-rsa._domainkey.${DOMAIN}`]: { TXT: [otherKey()] },
    [`yubin-ed25519._domainkey.${DOMAIN}`]: undefined as never,
    '25.2.0.192.bl.test': { A: ['127.0.0.2'], TXT: ['listed: test listing'] },
    [`_submission._tcp.${DOMAIN}`]: srv(25),
    [`_pop3s._tcp.${DOMAIN}`]: { failTypes: { SRV: 'TIMEOUT' } },
  };
}

/** Drop entries set to undefined (a record removed from the good zone). */
export function clean(zone: Zone): Zone {
  return Object.fromEntries(Object.entries(zone).filter(([, v]) => v !== undefined));
}
