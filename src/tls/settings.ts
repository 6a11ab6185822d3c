// Trust for the TLS connections the board opens itself (src/tls/trust.ts): the ACME directory,
// MTA-STS policy hosts, MX certificates that MTA-STS requires to be valid, TLS-RPT https reports.
import { setting, path, type Setting } from '../settings/kinds.ts';

export const settings = {
  'tls.extraRoots': setting(path, '', 'live',
    'PEM file of root certificates trusted besides the public ones Node ships (Mozilla\'s list) when the board validates a server: the ACME directory, MTA-STS policy hosts and MX certificates, TLS-RPT report hosts. Empty: the public roots only. For a private CA (or the tests\' own).'),
} satisfies Record<string, Setting<unknown>>;
