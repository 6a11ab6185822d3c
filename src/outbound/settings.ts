// Settings of the outbound SMTP client (remote MX delivery) and of the fixed relay hops the roles
// use: the internal server (edge role), the edge (internal role), and an optional smarthost.
import { setting, int, list, text, oneOf, domain, port, type Setting } from '../settings/kinds.ts';

/** A relay hop: host or host:port ([v6]:port), or empty for none. */
const hop = text(/^((\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?)?$/, 'host or host:port, e.g. mail.example.com:25 or [2001:db8::25]:25, or empty');

export const settings = {
  'outbound.port': setting(port, 25, 'live',
    'TCP port of remote exchangers, and of relay hops given without a port. 25 on the board; tests point it at their own peers.'),
  'outbound.maxConnections': setting(int(1, 500), 20, 'live', 'Outbound SMTP connections open at once, over all destinations.'),
  'outbound.maxPerDestination': setting(int(1, 100), 4, 'live',
    'Outbound SMTP connections open at once to one destination domain (or relay hop), so one slow site cannot take every slot.'),
  'outbound.tlsRequiredDomains': setting(list(domain), [], 'live',
    'Destination domains whose mail is sent only over STARTTLS; a server that offers none gets the mail deferred (4.7.10), never sent in the clear.'),
  'outbound.connectTimeoutMs': setting(int(100, 600_000), 30_000, 'live', 'Milliseconds to open a TCP connection to one exchanger address before trying the next.'),
  'outbound.greetingTimeoutMs': setting(int(100, 600_000), 300_000, 'live', 'Milliseconds to wait for the 220 greeting (RFC 5321 §4.5.3.2.1: 5 minutes).'),
  'outbound.socketTimeoutMs': setting(int(100, 1_200_000), 600_000, 'live',
    'Milliseconds of server silence before an outbound session is dropped (RFC 5321 §4.5.3.2.6: 10 minutes after the final dot).'),
  'outbound.sourceAddress': setting(text(/^([0-9a-fA-F:.]+)?$/, 'an IP address of this board, or empty'), '', 'live',
    'Local address outbound connections come from; empty lets the kernel choose.'),
  'relay.internalHost': setting(hop, '', 'live',
    'Edge role: the internal mail server that receives mail for the local domains (host[:port]; port defaults to outbound.port).'),
  'relay.edgeHost': setting(hop, '', 'live',
    'Internal role: the edge server every outbound message is handed to (host[:port]; port defaults to outbound.port).'),
  'relay.smarthost': setting(hop, '', 'live',
    'All-in-one and edge roles: send every remote message through this host[:port] instead of looking up MX records (e.g. the provider\'s relay).'),
  'relay.smarthostTls': setting(oneOf('opportunistic', 'starttls', 'implicit'), 'opportunistic', 'live',
    'TLS towards the smarthost: opportunistic STARTTLS, required STARTTLS, or implicit TLS (port 465). With AUTH, the password is only ever sent encrypted.'),
  'relay.smarthostUser': setting(text(), '', 'live', 'User name for SMTP AUTH at the smarthost; empty: no AUTH.'),
  'relay.smarthostPassword': setting(text(), '', 'live', 'Password for SMTP AUTH at the smarthost.'),
} satisfies Record<string, Setting<unknown>>;
