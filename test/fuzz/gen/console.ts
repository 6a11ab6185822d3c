// Console input lines: the command language's commands with hostile arguments (settings that
// exist and do not, values out of range, quotes, escapes, long lines, terminal escape sequences).
import fc from 'fast-check';
import { oddText } from './session.ts';

/** Settings the console may try to change (not the console's own login settings). */
const KEYS = ['hostname', 'smtp.maxSize', 'smtp.maxRecipients', 'smtp.port', 'listen.address', 'spam.tagScore', 'queue.retryMinutes', 'domains', 'trustedNetworks',
  'no.such.key', 'alerts.queueBacklog', 'archive.enabled', 'dns.servers', 'attachments.blockedExtensions', 'console.idleSeconds', ''];
const VALUES = ['', '0', '-1', '99999999999999999999', 'yes', 'true', 'example.test', '"a b"', "'", '10M', '1e3', '[]', '["a"]', '0.0.0.0/0', '::/0', 'NaN', '\\'];

const word = fc.oneof(fc.constantFrom('', 'alice', 'bob', 'x.example', 'ABC', '1', '-1', '--help', '-h', 'help', '--password', 'hunter2hunter2', '--selector', '--dns', '127.0.0.1:1', '/etc/hostname', '../../x'), oddText(20));

export const consoleLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('help', '?', 'show', 'alert', 'queue', 'archive', 'quarantine', 'check', 'dkim', 'user', 'domain', 'alias', 'config'), fc.array(word, { maxLength: 3 })).map(([c, w]) => [c, ...w].join(' ')) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom('set', 'config set'), fc.constantFrom(...KEYS), fc.oneof(fc.constantFrom(...VALUES), oddText(40))).map(([c, k, v]) => `${c} ${k} ${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('commit', 'discard', 'show config', 'show status', 'show alerts', 'show queue', 'show users', 'show firewall', 'config show --doc', 'user list', 'domain list', 'alias list', 'queue list', 'quarantine list', 'alert ack', 'restart', 'passwd', 'logout', 'exit', 'quit') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('user add', 'user del', 'user passwd', 'user apop', 'domain add', 'domain del', 'alias add', 'alias del', 'config get', 'queue show', 'queue delete', 'queue hold', 'queue release', 'queue cancel', 'quarantine show', 'quarantine release', 'quarantine delete', 'archive search', 'archive export', 'dkim keygen', 'check spf', 'check dkim', 'check dmarc', 'check arc', 'check senderid'), fc.array(word, { maxLength: 4 })).map(([c, w]) => [c, ...w].join(' ')) },
  { weight: 1, arbitrary: fc.oneof(oddText(80), fc.constantFrom('"unterminated', "'unterminated", 'a\\', 'x'.repeat(1500), '\x1b[A\x1b[B\x7f\x7f\x08', '\x15', '\x03', '\t\t')) },
);

/** Answers to the prompts a command asks (passwords twice, confirmations); null: the input ended. */
export const answers = fc.array(fc.oneof(fc.constantFrom('correct horse battery', 'short', '', 'y', 'n'), oddText(20)), { maxLength: 3 });
