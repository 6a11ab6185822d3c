// What every client autoconfig document describes: the board's host name and the ports it really
// listens on, with the TLS and the authentication each offers. One reader for the three formats,
// so they can never disagree.

export interface ServicePorts {
  /** Listening ports (0 or absent: off), as the running listeners report them. */
  readonly submission?: number;
  readonly smtps?: number;
  readonly pop3?: number;
  readonly pop3s?: number;
}

export interface ClientFacts {
  readonly hostname: string;
  readonly domains: readonly string[];
  readonly displayName: string;
  readonly ports: ServicePorts;
}

export type Security = 'tls' | 'starttls' | 'none';
export type Auth = 'password' | 'apop';

/** One way in: a protocol on a port with its TLS and authentication, best first. */
export interface Endpoint {
  readonly protocol: 'pop3' | 'smtp';
  readonly port: number;
  readonly security: Security;
  readonly auth: Auth;
}

/** The endpoints, best first: implicit TLS (RFC 8314 §3), then STARTTLS / STLS, then APOP on plain POP3. */
export function endpoints(facts: ClientFacts): Endpoint[] {
  const p = facts.ports;
  const out: Endpoint[] = [];
  if (p.pop3s) out.push({ protocol: 'pop3', port: p.pop3s, security: 'tls', auth: 'password' });
  if (p.pop3) out.push({ protocol: 'pop3', port: p.pop3, security: 'starttls', auth: 'password' });
  // APOP (RFC 1939 §7) needs no TLS for the password; Thunderbird speaks it ("password-encrypted").
  if (p.pop3) out.push({ protocol: 'pop3', port: p.pop3, security: 'none', auth: 'apop' });
  if (p.smtps) out.push({ protocol: 'smtp', port: p.smtps, security: 'tls', auth: 'password' });
  if (p.submission) out.push({ protocol: 'smtp', port: p.submission, security: 'starttls', auth: 'password' });
  return out;
}

/** The local part users log in with: Yubin's users log in by name, the local part of their address. */
export function loginName(address: string): string {
  return address.slice(0, address.lastIndexOf('@')).toLowerCase();
}

const ADDRESS = /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}$/;

/** The address a client asks about, if it is a plain address in one of our domains. */
export function localAddress(facts: ClientFacts, address: string | undefined): string | undefined {
  if (!address || !ADDRESS.test(address)) return undefined;
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  return facts.domains.includes(domain) ? `${loginName(address)}@${domain}` : undefined;
}

/** XML text (one escaper for every document the board writes). */
export { escapeXml as xml } from '../dmarcreport/xml.ts';
