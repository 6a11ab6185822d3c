// Settings of the gateway virus scan through clamd (docs/REQUIREMENTS.md §5: a gateway scanner from a maker other
// than the desktop one; ClamAV is it).
import { setting, int, oneOf, text, type Setting } from '../settings/kinds.ts';

export const settings = {
  'antivirus.address': setting(text(/^(|\/[^\0\r\n]*|[A-Za-z0-9.-]+:\d{1,5}|\[[0-9a-fA-F:.]+\]:\d{1,5})$/, 'a unix socket path (/run/clamav/clamd.ctl) or host:port (127.0.0.1:3310)'),
    '', 'live', 'Where clamd listens: its LocalSocket path (Debian: /run/clamav/clamd.ctl) or TCPSocket host:port. Empty: no virus scan. Once set, every message is scanned and clamd being down is a temporary failure (antivirus.onError). clamd with the full signature set needs about 1 GiB of RAM: a 512 MiB board points this at a clamd on another LAN host.'),
  'antivirus.timeout': setting(int(1, 600), 60, 'live', 'Seconds one scan may take, connect included.'),
  'antivirus.maxBytes': setting(int(1024, 1024 ** 3), 25 * 1024 * 1024, 'live',
    'Largest message sent to clamd (keep it at or below clamd\'s StreamMaxLength). Larger mail is accepted unscanned with an X-Yubin-Virus-Scan header saying so.'),
  'antivirus.action': setting(oneOf('reject', 'quarantine'), 'reject', 'live',
    'Infected mail: reject at DATA (554 5.7.1 naming the signature) or accept and hold it in quarantine.'),
  'antivirus.onError': setting(oneOf('tempfail', 'accept'), 'tempfail', 'live',
    'When clamd is down or fails: tempfail (451 4.7.1, the sender retries later) or accept unscanned (fail open) with a header saying so.'),
} satisfies Record<string, Setting<unknown>>;
