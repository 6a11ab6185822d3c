// The board's small web listener (src/web/): HTTP for ACME HTTP-01 challenges, HTTPS for the
// MTA-STS policy of each local domain and ACME TLS-ALPN-01; later client autoconfig (issue 17).
import { setting, int, oneOf, port, type Setting } from '../settings/kinds.ts';

export const settings = {
  'web.port': setting(port, 8080, 'live',
    'HTTP port of the web listener (80 on the board: ACME HTTP-01 validation always comes to port 80, so forward it there). 0 disables plain HTTP.'),
  'web.tlsPort': setting(port, 8443, 'live',
    'HTTPS port of the web listener (443 on the board): the MTA-STS policy (https://mta-sts.DOMAIN/.well-known/mta-sts.txt) and ACME TLS-ALPN-01. 0 disables HTTPS.'),
  'web.http': setting(oneOf('auto', 'always', 'off'), 'auto', 'live',
    'When plain HTTP listens: auto, only while something needs it (an ACME HTTP-01 challenge is pending); always; off (then HTTP-01 cannot work).'),
  'web.maxConnections': setting(int(1, 10000), 64, 'live', 'Connections open at once on each web port; more are closed at once.'),
  'web.requestTimeout': setting(int(1, 300), 10, 'live', 'Seconds a client has to send its request headers; idle kept-alive connections close after 5 s.'),
} satisfies Record<string, Setting<unknown>>;
