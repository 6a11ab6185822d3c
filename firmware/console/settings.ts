// Settings of the administrator's console (serial UART on the board, stdio in development).
import { setting, int, text, type Setting } from '../../src/settings/kinds.ts';

/** An scrypt hash as made by src/accounts/passwords.ts, or empty (no password yet: first boot). */
export const PASSWORD_HASH_RE = /^(|scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+)$/;

export const settings = {
  'console.device': setting(text(/^(|\/dev\/[A-Za-z0-9._/-]+)$/, 'empty (stdio) or a device path such as /dev/ttyAMA0'), '', 'restart',
    'Serial device the console runs on (/dev/ttyAMA0 or /dev/serial0 on a Pi, /dev/ttyS0 on x86). Empty: stdin/stdout, for development.'),
  'console.baud': setting(int(1200, 4000000), 115200, 'restart', 'Serial line speed in bits per second (8N1, no flow control).'),
  'console.passwordHash': setting(text(PASSWORD_HASH_RE, "an scrypt hash (set it with the console's 'passwd' command, never by hand)"), '', 'live',
    'scrypt hash of the console admin password. Empty: the console asks for a new password at first login.'),
  'console.idleSeconds': setting(int(10, 86400), 600, 'live', 'Seconds without input before a logged-in console session is logged out.'),
  'console.maxFailures': setting(int(1, 100), 5, 'live',
    'Wrong admin passwords in a row before the console locks; each failure also waits longer (1 s, 2 s, 4 s... up to 30 s) and raises auth.failed.'),
  'console.lockoutSeconds': setting(int(1, 86400), 300, 'live', 'Seconds the console refuses every login after console.maxFailures wrong passwords.'),
} satisfies Record<string, Setting<unknown>>;
