// Thunderbird's autoconfig (clientConfig 1.1, https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat):
// every POP3 and SMTP endpoint the board offers, best first. The placeholders %EMAILADDRESS% and
// %EMAILLOCALPART% are filled in by Thunderbird, so one document serves every user of a domain.
import { endpoints, xml, type ClientFacts, type Endpoint } from './facts.ts';

const SOCKET: Record<Endpoint['security'], string> = { tls: 'SSL', starttls: 'STARTTLS', none: 'plain' };
// password-encrypted: APOP for POP3 (Thunderbird's "encrypted password").
const AUTH: Record<Endpoint['auth'], string> = { password: 'password-cleartext', apop: 'password-encrypted' };

export function thunderbirdConfig(facts: ClientFacts, domain: string): string {
  const server = (e: Endpoint, tag: 'incomingServer' | 'outgoingServer') => [
    `    <${tag} type="${e.protocol}">`,
    `      <hostname>${xml(facts.hostname)}</hostname>`,
    `      <port>${e.port}</port>`,
    `      <socketType>${SOCKET[e.security]}</socketType>`,
    `      <authentication>${AUTH[e.auth]}</authentication>`,
    '      <username>%EMAILLOCALPART%</username>',
    ...(e.protocol === 'pop3' ? ['      <pop3>', '        <leaveMessagesOnServer>false</leaveMessagesOnServer>', '      </pop3>'] : []),
    `    </${tag}>`,
  ];
  const list = endpoints(facts);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<clientConfig version="1.1">',
    `  <emailProvider id="${xml(domain)}">`,
    ...facts.domains.map((d) => `    <domain>${xml(d)}</domain>`),
    `    <displayName>${xml(facts.displayName)}</displayName>`,
    `    <displayShortName>${xml(facts.displayName)}</displayShortName>`,
    ...list.filter((e) => e.protocol === 'pop3').flatMap((e) => server(e, 'incomingServer')),
    ...list.filter((e) => e.protocol === 'smtp').flatMap((e) => server(e, 'outgoingServer')),
    '  </emailProvider>',
    '</clientConfig>',
    '',
  ].join('\n');
}
