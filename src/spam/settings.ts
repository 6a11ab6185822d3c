// Settings of the spam score (docs/REQUIREMENTS.md §5: spam is removed with the least admin work). Scores are
// whole points; a message gets the sum of the rules it hits.
import { setting, int, list, text, domain, type Setting } from '../settings/kinds.ts';

export const settings = {
  'spam.tagScore': setting(int(0, 1000), 5, 'live', 'From this score on a message is marked X-Spam-Flag: YES (every inbound message gets X-Spam-Status).'),
  'spam.quarantineScore': setting(int(0, 1000), 8, 'live', 'From this score on a message is held in quarantine, where it expires by itself after quarantine.expiry.'),
  'spam.rejectScore': setting(int(0, 1000), 15, 'live', 'From this score on a message is refused at DATA with 550 5.7.1.'),
  'spam.dnsbl': setting(list(domain), [], 'live',
    'DNS block lists of client addresses (e.g. zen.spamhaus.org; check the list\'s terms). Each listing adds spam.dnsblScore.'),
  'spam.dnsblScore': setting(int(0, 1000), 5, 'live', 'Points per DNSBL listing the client address has.'),
  'spam.rhsbl': setting(list(domain), [], 'live',
    'Domain block lists (e.g. dbl.spamhaus.org) checked for the envelope sender\'s and the From domain. Each listing adds spam.rhsblScore.'),
  'spam.rhsblScore': setting(int(0, 1000), 4, 'live', 'Points per RHSBL listing of the sender domains.'),
  'spam.authservId': setting(text(/^[A-Za-z0-9.-]*$/, 'a host name, or empty for the hostname setting'), '', 'live',
    'Only Authentication-Results headers with this authserv-id (RFC 8601 §2.5) count; empty means our hostname. Others may be forged by the sender.'),
  'spam.rspamdUrl': setting(text(/^(https?:\/\/[^\s]+)?$/, 'an http(s) URL such as http://127.0.0.1:11333, or empty'), '', 'live',
    'An rspamd worker to ask (POST /checkv2); its score then replaces our own rules. Empty: our own rules only.'),
  'spam.timeout': setting(int(1, 120), 10, 'live', 'Seconds the block-list lookups and rspamd may take together; after that the rules answered so far count.'),
} satisfies Record<string, Setting<unknown>>;
