// POP3 (the MRA, docs/REQUIREMENTS.md §2) settings: listeners, cleartext policy, abuse limits, POP-before-SMTP.
import { setting, int, bool, port, type Setting } from '../settings/kinds.ts';

export const settings = {
  'pop3.port': setting(port, 1110, 'restart', 'POP3 port with STLS (110 on the board). 0 disables the listener.'),
  'pop3.tlsPort': setting(port, 1995, 'restart', 'POP3 port with implicit TLS, POP3S (995 on the board, RFC 8314). 0 disables.'),
  'pop3.allowCleartext': setting(bool, false, 'live',
    'Allow USER/PASS and AUTH PLAIN on a connection that is not encrypted (like Dovecot auth_allow_cleartext). Off: only APOP works before STLS.'),
  'pop3.popBeforeSmtpSeconds': setting(int(0, 86400), 0, 'live',
    'Seconds a successful POP3 login lets the client address relay through SMTP (POP-before-SMTP, docs/REQUIREMENTS.md §1 ②). 0 is off.'),
  'pop3.maxSessions': setting(int(1, 10000), 100, 'live', 'Simultaneous POP3 connections over both listeners, trusted clients included (-ERR [SYS/TEMP] beyond).'),
  'pop3.reservedSessions': setting(int(0, 10000), 20, 'live',
    "Of pop3.maxSessions, the places only trustedNetworks may take (at most half). When the strangers' share is full, a newcomer from a less busy network takes the place of the busiest network's oldest session that has not logged in."),
  'pop3.maxSessionsPerClient': setting(int(1, 10000), 10, 'live', 'Simultaneous POP3 connections from one outside IP address (-ERR [SYS/TEMP] beyond).'),
  'pop3.maxSessionsPerNetwork': setting(int(1, 10000), 30, 'live', 'Simultaneous POP3 connections from one outside network, a /24 (IPv4) or /64 (IPv6) (-ERR [SYS/TEMP] beyond).'),
  'pop3.stressThreshold': setting(int(1, 100), 75, 'live', "Percent of the strangers' share of pop3.maxSessions in use from which sessions not logged in time out after pop3.stressTimeout."),
  'pop3.stressTimeout': setting(int(1, 3600), 10, 'live', 'Seconds of silence before an outside session that has not logged in is closed while under stress (after login pop3.idleTimeout always applies).'),
  'pop3.idleTimeout': setting(int(1, 3600), 600, 'live',
    'Seconds of client silence before the session is closed without UPDATE (RFC 1939 §3: at least 10 minutes).'),
} satisfies Record<string, Setting<unknown>>;
