// Microsoft Autodiscover, the plain-old-XML form Outlook POSTs (MS-OXDSCLI §2.2.4: a Request with
// the EMailAddress, a Response of schema 2006a with one Protocol per way in). Outlook has no APOP,
// so the POP3 endpoints are the TLS ones.
import { endpoints, loginName, xml, type ClientFacts } from './facts.ts';

export const REQUEST_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006';
export const RESPONSE_NS = 'http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006';
export const OUTLOOK_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

/** The requested address out of a request body; a body is small and read by one bounded pattern, never parsed as a document. */
export function requestedAddress(body: string): string | undefined {
  if (body.length > 8192) return undefined;
  const m = /<EMailAddress>\s*([^<\s]{3,320})\s*<\/EMailAddress>/i.exec(body);
  return m?.[1];
}

export function autodiscoverResponse(facts: ClientFacts, address: string): string {
  const protocols = endpoints(facts).filter((e) => e.auth === 'password').map((e) => [
    '      <Protocol>',
    `        <Type>${e.protocol === 'pop3' ? 'POP3' : 'SMTP'}</Type>`,
    `        <Server>${xml(facts.hostname)}</Server>`,
    `        <Port>${e.port}</Port>`,
    `        <LoginName>${xml(loginName(address))}</LoginName>`,
    '        <DomainRequired>off</DomainRequired>',
    '        <SPA>off</SPA>',
    // SSL on with an Encryption element: TLS is STARTTLS, SSL is implicit TLS (MS-OXDSCLI §2.2.4.1.1.2.4.1).
    `        <SSL>on</SSL>`,
    `        <Encryption>${e.security === 'tls' ? 'SSL' : 'TLS'}</Encryption>`,
    '        <AuthRequired>on</AuthRequired>',
    ...(e.protocol === 'smtp' ? ['        <UsePOPAuth>off</UsePOPAuth>', '        <SMTPLast>off</SMTPLast>'] : []),
    '      </Protocol>',
  ].join('\n'));
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${RESPONSE_NS}">`,
    `  <Response xmlns="${OUTLOOK_NS}">`,
    '    <User>',
    `      <DisplayName>${xml(address)}</DisplayName>`,
    '    </User>',
    '    <Account>',
    '      <AccountType>email</AccountType>',
    '      <Action>settings</Action>',
    ...protocols,
    '    </Account>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}

/** The error response for an address we do not serve (MS-OXDSCLI §2.2.4.2.1.1: ErrorCode 600 is "invalid request"). */
export function autodiscoverError(message: string): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<Autodiscover xmlns="${RESPONSE_NS}">`,
    '  <Response>',
    '    <Error>',
    '      <ErrorCode>600</ErrorCode>',
    `      <Message>${xml(message)}</Message>`,
    '    </Error>',
    '  </Response>',
    '</Autodiscover>',
    '',
  ].join('\n');
}
