// Every configuration key, its kind, its default and why it exists — in one place, as Postfix's
// postconf(5) is. Stations own their sections (see the imports); this file only assembles them.
// `yubin config show --doc` prints this table.
import { setting, int, bool, oneOf, text, list, domain, cidr, path, port, type Setting } from './kinds.ts';
import { stationSettings } from './stations.ts';

const core = {
  role: setting(oneOf('all-in-one', 'edge', 'internal'), 'all-in-one',
    'all-in-one keeps mailboxes here; edge passes local mail to relay.internalHost; internal keeps mailboxes and sends out through relay.edgeHost (seed §6).'),
  hostname: setting(domain, 'yubin.localdomain', 'Name in the SMTP greeting, Received headers and Maildir file names.'),
  'listen.address': setting(text(/^[0-9a-fA-F:.]+$/, 'an IP address to listen on, e.g. 0.0.0.0 or 127.0.0.1'), '127.0.0.1',
    'Address every listener binds. The embedded default is loopback only; the board image sets 0.0.0.0.'),
  domains: setting(list(domain), ['localhost'], 'Local domains: mail to them is accepted from anyone (relay table row 1).'),
  trustedNetworks: setting(list(cidr), ['127.0.0.1/32', '::1/128'],
    'Clients that may relay without AUTH (relay table row 2). Default: only the board itself.'),
  'tls.cert': setting(path, '', 'PEM certificate chain. Empty: a self-signed one is made in DATA/tls on first start.'),
  'tls.key': setting(path, '', 'PEM private key matching tls.cert.'),

  'smtp.port': setting(port, 2525, 'MTA port (25 on the board). 0 disables the listener.'),
  'smtp.submissionPort': setting(port, 2587, 'MSA port with STARTTLS and required AUTH (587 on the board). 0 disables.'),
  'smtp.smtpsPort': setting(port, 2465, 'MSA port with implicit TLS and required AUTH (465 on the board). 0 disables.'),
  'smtp.maxSize': setting(int(1024, 1024 ** 3), 25 * 1024 * 1024,
    'Largest message in bytes, counted on the bytes actually sent (552 5.3.4 beyond), not only on the SIZE the client declares.'),
  'smtp.maxRecipients': setting(int(1, 10000), 100, 'Recipients per message (452 4.5.3 beyond, RFC 5321 §4.5.3.1.8).'),
  'smtp.maxConnections': setting(int(1, 10000), 200, 'Simultaneous SMTP connections over all listeners, trusted clients included (421 4.7.0 beyond).'),
  'smtp.reservedConnections': setting(int(0, 10000), 40,
    'Of smtp.maxConnections, the places only trustedNetworks may take (at most half): strangers can never fill the board. When the strangers\' share is full, a newcomer from a less busy network takes the place of the busiest network\'s oldest idle, unauthenticated session.'),
  'smtp.maxConnectionsPerClient': setting(int(1, 10000), 20, 'Simultaneous SMTP connections from one outside IP address (421 4.7.0 beyond; trusted networks are not capped per address).'),
  'smtp.maxConnectionsPerNetwork': setting(int(1, 10000), 50, 'Simultaneous SMTP connections from one outside network, a /24 (IPv4) or /64 (IPv6) (421 4.7.0 beyond).'),
  'smtp.stressThreshold': setting(int(1, 100), 75,
    "Percent of the strangers' share of smtp.maxConnections in use from which the board is under stress: idle outside sessions that have not logged in then time out after smtp.stressTimeout (Postfix's stress-dependent smtpd_timeout)."),
  'smtp.stressTimeout': setting(int(1, 3600), 10, 'Seconds of silence before an idle outside session that has not logged in is closed while under stress.'),
  'smtp.maxDataSeconds': setting(int(1, 86400), 900,
    'Seconds one DATA may take however slowly it arrives (421 4.4.2 beyond): a slow sender cannot hold a session for ever. 900 s carries 25 MiB over a 256 kbit/s uplink.'),
  'smtp.maxSessionSeconds': setting(int(1, 86400), 3600, 'Seconds one SMTP session may last (421 4.4.2 beyond, after a DATA in progress).'),
  'smtp.maxBadCommands': setting(int(1, 1000), 10, 'Unknown or refused commands before the session is closed with 421.'),
  'smtp.socketTimeout': setting(int(1, 3600), 300, 'Seconds of client silence before the session is closed (RFC 5321 §4.5.3.2.7: 5 minutes).'),
  'smtp.greetingDelay': setting(int(0, 10000), 100,
    'Milliseconds the MTA listener waits before its greeting to untrusted clients; a client that talks first is refused (early-talker spam check). Trusted clients and submission ports get no pause.'),
  'smtp.requireTlsForAuth': setting(bool, true, 'Refuse AUTH on a connection that is not encrypted (never send a password in the clear).'),

  'mailbox.defaultQuota': setting(int(0, 1024 ** 4), 1024 ** 3,
    'Bytes a mailbox may hold when its user has no quota of its own; 0 means unlimited.'),
  'spool.groupCommitMs': setting(int(0, 50), 0,
    'Milliseconds to wait for other messages to share one fsync (group commit); 0 fsyncs each message alone.'),
} satisfies Record<string, Setting<unknown>>;

export const schema = { ...core, ...stationSettings };

export type Schema = typeof schema;
export type SettingKey = keyof Schema;
export type Settings = { [K in SettingKey]: Schema[K] extends Setting<infer T> ? T : never };

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(schema, key);
}

export function defaults(): Settings {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(schema)) out[key] = structuredClone(s.default);
  return out as Settings;
}
