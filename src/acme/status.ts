// `show status` lines for transport security: the certificate served, MTA-STS both ways, TLS-RPT,
// and DANE, which is off and says why (RFC 7672 needs a DNSSEC-validating resolver; the board has none).
import type { Settings } from '../config/schema.ts';
import type { ServedCertificate } from '../tls/store.ts';
import { renewAt } from './schedule.ts';

export function formatTransportStatus(s: Readonly<Settings>, served: ServedCertificate): string {
  const until = served.notAfter.toISOString().slice(0, 16).replace('T', ' ');
  const renews = served.source === 'acme' ? `, renews ${new Date(renewAt(served.notBefore, served.notAfter)).toISOString().slice(0, 16).replace('T', ' ')}` : '';
  const acme = s['acme.enabled'] ? (s['tls.cert'] !== '' ? ' (acme idle: tls.cert is set)' : ` (acme ${s['acme.challenge']})`) : '';
  return [
    `certificate: ${served.source} for ${served.names.join(', ')} until ${until} UTC${renews}${acme}`,
    `MTA-STS: ${s['mtasts.mode'] === 'none' ? 'no policy published' : `${s['mtasts.mode']} policy published for ${s.domains.length} domain${s.domains.length === 1 ? '' : 's'}`}; ${s['mtasts.outbound'] ? 'honoured for outbound mail' : 'not honoured outbound (mtasts.outbound off)'}; TLS-RPT ${s['tlsrpt.enabled'] ? 'on' : 'off'}`,
    'DANE: off (no DNSSEC-validating resolver: TLSA records are not looked up)',
    '',
  ].join('\n');
}
