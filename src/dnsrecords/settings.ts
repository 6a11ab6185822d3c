// Settings of the DNS records wizard (`yubin dns`, console `show dns`) and of the DNS watch that
// checks the published records on a schedule (src/dnsrecords/watch.ts).
import { setting, bool, int, list, oneOf, text, domain, type Setting } from '../settings/kinds.ts';

const ipv4 = text(/^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$|^$/, 'an IPv4 address such as 203.0.113.5, or empty');
const ipv6 = text(/^([0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F.]{0,15}$|^$/, 'an IPv6 address such as 2001:db8::25, or empty');
const mailbox = text(/^([^\s@;,!]+@[a-z0-9.-]+)?$/, 'an email address such as dmarc@example.com, or empty');
/** An SPF mechanism to add: include:, a:, mx:, ip4:, ip6: (the ISP's relay when sending through a smarthost). */
const spfTerm = text(/^(include|a|mx|ip4|ip6|exists):[^\s]+$/, 'an SPF mechanism such as include:_spf.isp.example or ip4:198.51.100.0/24');

export const settings = {
  'dnsrecords.publicIpv4': setting(ipv4, '', 'live',
    'The public IPv4 address mail leaves from and arrives at (the router\'s WAN address, forwarded to the board): the A record of the hostname, the SPF address and the PTR the wizard asks for. Empty: unknown; the wizard and the watch then say so instead of guessing.'),
  'dnsrecords.publicIpv6': setting(ipv6, '', 'live', 'The public IPv6 address of the board, if it has one (AAAA record, SPF ip6, PTR). Empty: none.'),
  'dnsrecords.dmarcPolicy': setting(oneOf('none', 'quarantine', 'reject'), 'none', 'live',
    'The p= of the DMARC record the wizard proposes (RFC 9989): none watches only (the reports still arrive), quarantine and reject ask receivers to junk or refuse mail that fails. Start with none, move up once the reports show only your own servers.'),
  'dnsrecords.dmarcRua': setting(mailbox, '', 'live',
    'Where the DMARC record asks receivers to send aggregate reports (rua=mailto:); empty: postmaster@ each domain. Reports arriving there are read into `show dmarc`.'),
  'dnsrecords.spfExtra': setting(list(spfTerm), [], 'live',
    'SPF mechanisms added before -all, e.g. include:_spf.isp.example when mail leaves through the ISP\'s relay (relay.smarthost).'),
  'dnsrecords.watch': setting(bool, true, 'live', 'Check the published records on a schedule and raise a dns-record alert (LED, MQTT, `show alerts`) when one breaks or the public address gets listed.'),
  'dnsrecords.watchInterval': setting(int(5, 7 * 86400), 6 * 3600, 'live', 'Seconds between two checks of the published records (the first runs a minute after start).'),
  'dnsrecords.blocklists': setting(list(domain), [], 'live',
    'DNS block lists the public address is looked up in (e.g. zen.spamhaus.org, bl.spamcop.net; mind each list\'s terms). Empty: the lists of spam.dnsbl.'),
} satisfies Record<string, Setting<unknown>>;
