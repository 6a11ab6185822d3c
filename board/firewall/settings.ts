// Settings of the router-side guard: OP25B on the forward hook and the ban set on the mail ports.
import { setting, int, bool, text, list, cidr, port, type Setting } from '../../src/settings/kinds.ts';

// IFNAMSIZ is 16 with the NUL; nft quotes the name, so keep to the characters ip(8) accepts.
const ifname = text(/^(|[A-Za-z0-9_.:@-]{1,15})$/, 'a network interface name such as eth0 (1-15 of A-Z a-z 0-9 _ . : @ -), or empty');

export const settings = {
  'op25b.enabled': setting(bool, false, 'live',
    'Outbound Port 25 Blocking (docs/REQUIREMENTS.md §5): LAN hosts may not open TCP/25 to the WAN; submission (587/465) and the board\'s own MTA stay open. Needs op25b.lanInterface.'),
  'op25b.lanInterface': setting(ifname, '', 'live', 'Interface facing the office LAN, e.g. eth1 or br-lan.'),
  'op25b.wanInterface': setting(ifname, '', 'live', 'Interface facing the Internet, e.g. eth0 or ppp0. Empty: every interface other than the LAN one.'),
  'op25b.exemptHosts': setting(list(cidr), [], 'live', 'LAN hosts or networks still allowed to reach TCP/25 on the WAN (e.g. an internal mail server), if any.'),
  'op25b.pollSeconds': setting(int(1, 3600), 10, 'live', 'Seconds between reads of the OP25B counters; each increase becomes an op25b.blocked event naming the LAN source.'),
  'alerts.autoBan': setting(bool, false, 'live',
    'Put the offending address of each raised alert (relay attack, password guessing, virus) into the nftables ban set (dropped on the mail ports) for alerts.autoBanSeconds; trustedNetworks and the board itself are never banned. On in the board image; off in the embedded defaults of npm start, which should not change a development machine\'s firewall.'),
  'alerts.autoBanSeconds': setting(int(1, 30 * 86400), 3600, 'live', 'Seconds an auto-banned address stays banned (the set element times out by itself).'),
  'alerts.autoBanPorts': setting(list(port), [25, 465, 587, 110, 995], 'live',
    'TCP ports on which banned addresses are dropped; the listening smtp.port, smtp.submissionPort, smtp.smtpsPort, pop3.port and pop3.tlsPort are always added.'),
} satisfies Record<string, Setting<unknown>>;
