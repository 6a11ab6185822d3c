// ACME (RFC 8555): a certificate from a public CA for the board's names, renewed by itself.
import { setting, int, bool, list, text, oneOf, domain, type Setting } from '../settings/kinds.ts';

const url = text(/^(https:\/\/[^\s]+)?$/, 'an https:// URL');

export const settings = {
  'acme.enabled': setting(bool, false, 'live',
    'Obtain and renew the TLS certificate of every listener from an ACME CA (acme.directory). Turning it on accepts that CA\'s terms of service. Until the first certificate arrives the self-signed one is served; tls.cert, when set, wins and ACME stays idle.'),
  'acme.directory': setting(url, 'https://acme-v02.api.letsencrypt.org/directory', 'live',
    'ACME directory URL: Let\'s Encrypt by default; its staging directory (https://acme-staging-v02.api.letsencrypt.org/directory) for a trial.'),
  'acme.email': setting(text(/^([^\s@]+@[^\s@]+)?$/, 'an email address, or empty'), '', 'live',
    'Contact address given to the CA (expiry warnings, policy changes); empty: none.'),
  'acme.challenge': setting(oneOf('http-01', 'tls-alpn-01', 'dns-01'), 'http-01', 'live',
    'How the CA checks the board owns its names: http-01 (the CA connects to port 80: forward it to web.port), tls-alpn-01 (port 443 to web.tlsPort), dns-01 (a TXT record: by RFC 2136 update when acme.dnsServer is set, else `yubin acme renew` prints it for you to publish).'),
  'acme.names': setting(list(domain), [], 'live',
    'Names on the certificate besides the hostname and mta-sts.DOMAIN for each local domain while mtasts.mode is not none (e.g. mail.example.com for clients).'),
  'acme.keyType': setting(oneOf('rsa2048', 'ecdsa-p256'), 'rsa2048', 'live',
    'Key of the certificate: RSA 2048 reaches the oldest mail clients in an office; ECDSA P-256 is smaller and faster.'),
  'acme.alertDays': setting(int(1, 60), 14, 'live',
    'Raise a critical alert (LED, MQTT) when the served certificate expires within this many days and renewal has not succeeded. Renewal starts at two thirds of the lifetime (day 60 of 90).'),
  'acme.dnsServer': setting(text(/^((\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?)?$/, 'host or host:port of the primary DNS server, or empty'), '', 'live',
    'dns-01: the primary server that takes RFC 2136 dynamic updates for the TXT records (port 53 by default); empty: the console flow.'),
  'acme.dnsZone': setting(text(/^([a-z0-9.-]+)?$/, 'a zone name, or empty'), '', 'live',
    'dns-01: the zone to update; empty: the local domain the name belongs to.'),
  'acme.tsigName': setting(text(/^([A-Za-z0-9._-]+)?$/, 'a TSIG key name, or empty'), '', 'live', 'dns-01: name of the TSIG key (RFC 8945) that signs the updates; empty: unsigned.'),
  'acme.tsigAlgorithm': setting(oneOf('hmac-sha256', 'hmac-sha512', 'hmac-sha1'), 'hmac-sha256', 'live', 'dns-01: TSIG algorithm.'),
  'acme.tsigSecret': setting(text(/^([A-Za-z0-9+/=]+)?$/, 'the base64 TSIG secret, or empty'), '', 'live', 'dns-01: the TSIG secret, base64 as tsig-keygen prints it.'),
  'acme.dnsWait': setting(int(1, 7200), 300, 'live',
    'dns-01: seconds to wait for the TXT records to be visible through dns.servers before asking the CA to check them.'),
} satisfies Record<string, Setting<unknown>>;
