// An Apple configuration profile (.mobileconfig, a property list) with one com.apple.mail.managed
// payload for one user: iPhone, iPad and macOS Mail set the account up from it, asking only for
// the password. The UUIDs come from the host name and the address, so a profile downloaded again
// replaces the first instead of adding a second account.
import { createHash } from 'node:crypto';
import { endpoints, loginName, xml, type ClientFacts } from './facts.ts';

function uuidOf(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest('hex');
  // RFC 9562 §5.8 layout (version 8: custom), so it is a well-formed UUID.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

type Value = string | number | boolean;

function entries(dict: Record<string, Value>, indent: string): string[] {
  return Object.entries(dict).flatMap(([k, v]) => [
    `${indent}<key>${xml(k)}</key>`,
    typeof v === 'boolean' ? `${indent}<${v}/>` : typeof v === 'number' ? `${indent}<integer>${v}</integer>` : `${indent}<string>${xml(v)}</string>`,
  ]);
}

/** null when the board offers no POP3 over TLS or no submission (a profile cannot express STLS-less APOP). */
export function mobileconfig(facts: ClientFacts, address: string): string | null {
  const list = endpoints(facts).filter((e) => e.auth === 'password');
  const incoming = list.find((e) => e.protocol === 'pop3');
  const outgoing = list.find((e) => e.protocol === 'smtp');
  if (!incoming || !outgoing) return null;
  const user = loginName(address);
  const id = `yubin.${facts.hostname.split('.').reverse().join('.')}`;
  const account: Record<string, Value> = {
    EmailAccountDescription: address,
    EmailAccountName: user,
    EmailAccountType: 'EmailTypePOP',
    EmailAddress: address,
    IncomingMailServerAuthentication: 'EmailAuthPassword',
    IncomingMailServerHostName: facts.hostname,
    IncomingMailServerPortNumber: incoming.port,
    IncomingMailServerUseSSL: true,
    IncomingMailServerUsername: user,
    OutgoingMailServerAuthentication: 'EmailAuthPassword',
    OutgoingMailServerHostName: facts.hostname,
    OutgoingMailServerPortNumber: outgoing.port,
    OutgoingMailServerUseSSL: true,
    OutgoingMailServerUsername: user,
    OutgoingPasswordSameAsIncomingPassword: true,
    PayloadDescription: `Mail account ${address}`,
    PayloadDisplayName: address,
    PayloadIdentifier: `${id}.mail.${user}`,
    PayloadType: 'com.apple.mail.managed',
    PayloadUUID: uuidOf(facts.hostname, address, 'mail'),
    PayloadVersion: 1,
  };
  const profile: Record<string, Value> = {
    PayloadDescription: `Sets up ${address} on ${facts.hostname}`,
    PayloadDisplayName: `${facts.displayName}: ${address}`,
    PayloadIdentifier: `${id}.profile.${user}`,
    PayloadRemovalDisallowed: false,
    PayloadType: 'Configuration',
    PayloadUUID: uuidOf(facts.hostname, address, 'profile'),
    PayloadVersion: 1,
  };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '  <key>PayloadContent</key>',
    '  <array>',
    '    <dict>',
    ...entries(account, '      '),
    '    </dict>',
    '  </array>',
    ...entries(profile, '  '),
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}
