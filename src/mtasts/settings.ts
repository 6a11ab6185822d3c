// MTA-STS (RFC 8461): the policy this board publishes for its own domains (inbound), and how it
// honours the policies of the domains it delivers to (outbound). TLS-RPT settings are in src/tlsrpt/.
import { setting, int, bool, list, domain, oneOf, text, type Setting } from '../settings/kinds.ts';

/** An MX pattern of a policy: a host name, or *.domain (RFC 8461 §4.1). */
const mxPattern = text(/^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a host name or *.domain');

export const settings = {
  'mtasts.mode': setting(oneOf('none', 'testing', 'enforce'), 'none', 'live',
    'The MTA-STS policy this board publishes for every local domain at https://mta-sts.DOMAIN/.well-known/mta-sts.txt (web.tlsPort, 443 on the board). Start with testing (senders report problems but still deliver), then enforce; none publishes nothing. `yubin mtasts records` prints the DNS records to publish with it.'),
  'mtasts.maxAge': setting(int(86400, 31557600), 604800, 'live',
    'max_age of the published policy in seconds (a sender caches it this long; RFC 8461 §3.2 suggests weeks). One week by default.'),
  'mtasts.mx': setting(list(mxPattern), [], 'live',
    'The MX names the published policy allows; empty: the hostname alone. They must match the MX records of the domains and the names on the certificate.'),
  'mtasts.outbound': setting(bool, true, 'live',
    'Honour the MTA-STS policies of the domains mail is sent to: enforce delivers only to a listed MX with a valid certificate over TLS, else defers (4.7.5); testing delivers anyway and reports. Off: STARTTLS stays opportunistic (outbound.tlsRequiredDomains still holds).'),
  'mtasts.skipDomains': setting(list(domain), [], 'live',
    'Destination domains whose MTA-STS policy is not looked up or applied (an override when a partner\'s policy is broken and mail must go).'),
  'mtasts.policyPort': setting(int(1, 65535), 443, 'live',
    'TCP port of the policy hosts (mta-sts.DOMAIN) of other domains: 443 (RFC 8461 §3.3); tests point it at their own policy server.'),
  'mtasts.fetchTimeout': setting(int(1, 120), 20, 'live', 'Seconds to fetch one policy over HTTPS (headers and body).'),
} satisfies Record<string, Setting<unknown>>;
