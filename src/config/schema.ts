// Every configuration key, its kind, its default and why it exists — in one place, as Postfix's
// postconf(5) is. Stations own their sections (see the imports); this file only assembles them.
// `yubin config show --doc` prints this table.
import { setting, int, bool, oneOf, text, list, domain, cidr, path, port, type Setting } from '../settings/kinds.ts';
import { stationSettings } from './stations.ts';

const core = {
  role: setting(oneOf('all-in-one', 'edge', 'internal'), 'all-in-one', 'live',
    'all-in-one keeps mailboxes here; edge passes local mail to relay.internalHost; internal keeps mailboxes and sends out through relay.edgeHost (docs/REQUIREMENTS.md §6).'),
  hostname: setting(domain, 'yubin.localdomain', 'live', 'Name in the SMTP greeting, Received headers and Maildir file names.'),
  'listen.address': setting(text(/^[0-9a-fA-F:.]+$/, 'an IP address to listen on, e.g. 0.0.0.0 or 127.0.0.1'), '127.0.0.1', 'restart',
    'Address every listener binds. The embedded default is loopback only; the board image sets 0.0.0.0.'),
  domains: setting(list(domain), ['localhost'], 'live', 'Local domains: mail to them is accepted from anyone (relay table row 1).'),
  trustedNetworks: setting(list(cidr), ['127.0.0.1/32', '::1/128'], 'live',
    "Clients that may relay without AUTH (relay table row 2). Default: only the board itself. Their mail counts as our own users' outbound mail: it skips SPF, Sender ID, DKIM, DMARC and ARC (no Authentication-Results; senderauth.checkTrusted turns the checks on) and the spam score, gets attachments.outbound instead of attachments.inbound, is DKIM-signed, archived and held for the mis-send delay; the clients get no greeting pause, a reserve of connections and no cap per address. yubin trace shows each skip."),
  postmaster: setting(text(/^([a-z0-9][a-z0-9._-]{0,63}|[^\s@]{1,64}@[a-z0-9.-]{1,253})$/, 'a local user name (e.g. alice) or an address (e.g. it@example.com)'), 'postmaster', 'live',
    'Where mail to postmaster and abuse goes (RFC 5321 §4.5.1, RFC 2142): postmaster@ and abuse@ every local domain, and a bare RCPT TO:<postmaster>, unless an alias for them says otherwise. A user name or an address. The default, postmaster, is a mailbox the board always keeps, even before any user exists (nothing sent to postmaster is refused on a fresh install); read it by adding a user named postmaster, or name your own user here.'),
  'tls.cert': setting(path, '', 'restart', 'PEM certificate chain. Empty: a self-signed one is made in DATA/tls on first start.'),
  'tls.key': setting(path, '', 'restart', 'PEM private key matching tls.cert.'),

  'smtp.port': setting(port, 2525, 'restart', 'MTA port (25 on the board). 0 disables the listener.'),
  'smtp.submissionPort': setting(port, 2587, 'restart', 'MSA port with STARTTLS and required AUTH (587 on the board). 0 disables.'),
  'smtp.smtpsPort': setting(port, 2465, 'restart', 'MSA port with implicit TLS and required AUTH (465 on the board). 0 disables.'),
  'smtp.maxSize': setting(int(1024, 1024 ** 3), 25 * 1024 * 1024, 'live',
    'Largest message in bytes, counted on the bytes actually sent (552 5.3.4 beyond), not only on the SIZE the client declares.'),
  'smtp.maxRecipients': setting(int(1, 10000), 100, 'live', 'Recipients per message (452 4.5.3 beyond, RFC 5321 §4.5.3.1.8).'),
  'smtp.maxConnections': setting(int(1, 10000), 200, 'live', 'Simultaneous SMTP connections over all listeners, trusted clients included (421 4.7.0 beyond).'),
  'smtp.reservedConnections': setting(int(0, 10000), 40, 'live',
    'Of smtp.maxConnections, the places only trustedNetworks may take (at most half): strangers can never fill the board. When the strangers\' share is full, a newcomer from a less busy network takes the place of the busiest network\'s oldest idle, unauthenticated session.'),
  'smtp.maxConnectionsPerClient': setting(int(1, 10000), 20, 'live', 'Simultaneous SMTP connections from one outside IP address (421 4.7.0 beyond; trusted networks are not capped per address).'),
  'smtp.maxConnectionsPerNetwork': setting(int(1, 10000), 50, 'live', 'Simultaneous SMTP connections from one outside network, a /24 (IPv4) or /64 (IPv6) (421 4.7.0 beyond).'),
  'smtp.stressThreshold': setting(int(1, 100), 75, 'live',
    "Percent of the strangers' share of smtp.maxConnections in use from which the board is under stress: idle outside sessions that have not logged in then time out after smtp.stressTimeout (Postfix's stress-dependent smtpd_timeout)."),
  'smtp.stressTimeout': setting(int(1, 3600), 10, 'live', 'Seconds of silence before an idle outside session that has not logged in is closed while under stress.'),
  'smtp.maxDataSeconds': setting(int(1, 86400), 900, 'live',
    'Seconds one DATA may take however slowly it arrives (421 4.4.2 beyond): a slow sender cannot hold a session for ever. 900 s carries 25 MiB over a 256 kbit/s uplink.'),
  'smtp.maxSessionSeconds': setting(int(1, 86400), 3600, 'live', 'Seconds one SMTP session may last (421 4.4.2 beyond, after a DATA in progress).'),
  'smtp.maxBadCommands': setting(int(1, 1000), 10, 'live', 'Unknown or refused commands before the session is closed with 421.'),
  'smtp.socketTimeout': setting(int(1, 3600), 300, 'live', 'Seconds of client silence before the session is closed (RFC 5321 §4.5.3.2.7: 5 minutes).'),
  'smtp.greetingDelay': setting(int(0, 10000), 100, 'live',
    'Milliseconds the MTA listener waits before its greeting to untrusted clients; a client that talks first is refused (early-talker spam check). Trusted clients and submission ports get no pause.'),
  'smtp.requireTlsForAuth': setting(bool, true, 'live', 'Refuse AUTH on a connection that is not encrypted (never send a password in the clear).'),
  'smtp.shutdownGrace': setting(int(0, 300), 5, 'live',
    'Seconds a session in the middle of DATA may take to finish when Yubin stops (SIGTERM, SIGINT, console shutdown or restart); then it gets 421 4.3.2 and its client sends again later. Idle SMTP sessions get the 421 at once, POP3 sessions an -ERR.'),

  'mailbox.defaultQuota': setting(int(0, 1024 ** 4), 1024 ** 3, 'live',
    'Bytes a mailbox may hold when its user has no quota of its own; 0 means unlimited.'),
  'spool.groupCommitMs': setting(int(0, 50), 0, 'live',
    'Milliseconds to wait for other messages to share one fsync (group commit); 0 fsyncs each message alone.'),
} satisfies Record<string, Setting<unknown>>;

export const schema = { ...core, ...stationSettings };

export type Schema = typeof schema;
export type SettingKey = keyof Schema;
export type Settings = { [K in SettingKey]: Schema[K] extends Setting<infer T> ? T : never };

/** Settings whose value is a secret: `config show` says only whether they are set, and `config export`
 * writes them only when asked (--secrets), apart, under "secrets". */
export const SECRET_SETTINGS: ReadonlySet<SettingKey> = new Set<SettingKey>(['console.passwordHash', 'mqtt.password', 'relay.smarthostPassword']);

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(schema, key);
}

export function defaults(): Settings {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(schema)) out[key] = structuredClone(s.default);
  return out as Settings;
}

/** The keys among `keys` that take effect only at the next start (`restart` in the schema). */
export function restartOnly(keys: readonly string[]): SettingKey[] {
  return keys.filter((k): k is SettingKey => isSettingKey(k) && schema[k].applies === 'restart');
}
