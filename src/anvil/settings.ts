// Settings of the login brake shared by SMTP AUTH, POP3 and the console (login-throttle.ts).
import { setting, int, type Setting } from '../settings/kinds.ts';

export const settings = {
  'login.delayMs': setting(int(0, 60000), 1000, 'live',
    'Milliseconds before answering a failed login (SMTP AUTH, POP3); doubles with each further failure from the same address, up to login.maxDelayMs. Attempts from one outside address are checked one at a time.'),
  'login.maxDelayMs': setting(int(0, 600000), 16000, 'live', 'The longest wait before a failed-login reply.'),
  'login.pairFailures': setting(int(1, 1000), 5, 'live',
    'Failed logins for one user from one address within login.windowSeconds before that user is locked out from that address only (never from everywhere: a stranger cannot lock the owner out).'),
  'login.sourceFailures': setting(int(1, 1000), 10, 'live',
    'Failed logins from one outside address (any user names) within login.windowSeconds before that address may not log in at all; trusted networks are never locked as a whole.'),
  'login.windowSeconds': setting(int(1, 86400), 900, 'live', 'Seconds over which failed logins are counted.'),
  'login.lockSeconds': setting(int(1, 86400), 900, 'live', 'How long a lockout lasts.'),
} satisfies Record<string, Setting<unknown>>;

/** Keys renamed into login.*: a config.json that still has the old name keeps its value. */
export const RENAMED = {
  'pop3.authDelayMs': 'login.delayMs',
  'pop3.userLockoutFailures': 'login.pairFailures',
  'pop3.clientLockoutFailures': 'login.sourceFailures',
  'pop3.lockoutSeconds': 'login.lockSeconds',
} as const;
