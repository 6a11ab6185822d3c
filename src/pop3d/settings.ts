// POP3 (the MRA, seed §2) settings: listeners, cleartext policy, abuse limits, POP-before-SMTP.
import { setting, int, bool, port, type Setting } from '../config/kinds.ts';

export const settings = {
  'pop3.port': setting(port, 1110, 'restart', 'POP3 port with STLS (110 on the board). 0 disables the listener.'),
  'pop3.tlsPort': setting(port, 1995, 'restart', 'POP3 port with implicit TLS, POP3S (995 on the board, RFC 8314). 0 disables.'),
  'pop3.allowCleartext': setting(bool, false, 'live',
    'Allow USER/PASS and AUTH PLAIN on a connection that is not encrypted (like Dovecot auth_allow_cleartext). Off: only APOP works before STLS.'),
  'pop3.popBeforeSmtpSeconds': setting(int(0, 86400), 0, 'live',
    'Seconds a successful POP3 login lets the client address relay through SMTP (POP-before-SMTP, seed §1 ②). 0 is off.'),
  'pop3.maxSessions': setting(int(1, 10000), 100, 'live', 'Simultaneous POP3 connections over both listeners (-ERR [SYS/TEMP] beyond).'),
  'pop3.maxSessionsPerClient': setting(int(1, 10000), 10, 'live', 'Simultaneous POP3 connections from one IP address (-ERR [SYS/TEMP] beyond).'),
  'pop3.idleTimeout': setting(int(1, 3600), 600, 'live',
    'Seconds of client silence before the session is closed without UPDATE (RFC 1939 §3: at least 10 minutes).'),
  'pop3.authDelayMs': setting(int(0, 60000), 1000, 'live',
    'Milliseconds before answering a failed login; doubles with each further failure from the client, up to 16 times this.'),
  'pop3.userLockoutFailures': setting(int(1, 1000), 5, 'live', 'Failed logins for one user name within pop3.lockoutSeconds before that name is locked out.'),
  'pop3.clientLockoutFailures': setting(int(1, 1000), 20, 'live',
    'Failed logins from one IP address within pop3.lockoutSeconds before that address is locked out (an office behind NAT shares one).'),
  'pop3.lockoutSeconds': setting(int(1, 86400), 900, 'live', 'Window in which failures are counted, and how long a lockout lasts.'),
} satisfies Record<string, Setting<unknown>>;
