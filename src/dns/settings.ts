// Settings of the one DNS resolver used by delivery (MX, A/AAAA) and by the sender checks.
import { setting, int, list, text, type Setting } from '../settings/kinds.ts';

/** An IP address with an optional port: 192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:53. */
export const dnsServer = text(
  /^((\d{1,3}\.){3}\d{1,3}(:\d{1,5})?|[0-9a-fA-F:]*:[0-9a-fA-F:.]*|\[[0-9a-fA-F:.]+\](:\d{1,5})?)$/,
  'an IP address with optional port, e.g. 192.0.2.53, 127.0.0.1:5353 or [2001:db8::53]:53',
);

export const settings = {
  'dns.servers': setting(list(dnsServer), [], 'live',
    'Recursive DNS servers for MX lookups and SPF/DKIM/DMARC checks, each IP[:port]. Empty: the system resolver (/etc/resolv.conf).'),
  'dns.timeoutMs': setting(int(100, 60_000), 5000, 'live',
    'Milliseconds one lookup may take, retries included; beyond it the lookup is a temporary error (SMTP 4xx, SPF temperror), never a permanent one.'),
  'dns.tries': setting(int(1, 5), 2, 'live', 'Attempts per server before a lookup is given up as a timeout.'),
} satisfies Record<string, Setting<unknown>>;
