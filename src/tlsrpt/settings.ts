// SMTP TLS Reporting (RFC 8460): what the board records of its outbound TLS and reports daily to
// the domains that ask (_smtp._tls), and the address it publishes for reports about itself.
import { setting, bool, text, type Setting } from '../settings/kinds.ts';

const address = text(/^([^\s@]+@[^\s@]+)?$/, 'an email address, or empty');

export const settings = {
  'tlsrpt.enabled': setting(bool, true, 'live',
    'Record the TLS outcome of every outbound session per recipient domain, and send each domain that publishes a _smtp._tls record (rua=mailto:) the daily report, gzip JSON, after midnight UTC.'),
  'tlsrpt.rua': setting(address, '', 'live',
    'The address other servers send their TLS reports about this board to (the rua of the _smtp._tls record `yubin mtasts records` prints); empty: postmaster@DOMAIN.'),
  'tlsrpt.from': setting(address, '', 'live', 'Sender of the reports this board sends; empty: postmaster@ the first local domain.'),
} satisfies Record<string, Setting<unknown>>;
