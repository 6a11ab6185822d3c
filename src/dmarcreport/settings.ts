// Settings of DMARC aggregate reports (RFC 9990): those the board sends to the domains that ask
// for them, and those it receives about its own domains (`show dmarc`).
import { setting, bool, int, text, type Setting } from '../settings/kinds.ts';

const address = text(/^([^\s@<>]+@[a-z0-9.-]+)?$/, 'an email address such as dmarc-reports@example.com, or empty');

export const settings = {
  'dmarcreport.send': setting(bool, true, 'live',
    'Record the DMARC result of inbound mail from domains whose DMARC record asks for aggregate reports (rua=mailto:) and send each one its report once a day (RFC 9990), gzip-compressed.'),
  'dmarcreport.from': setting(address, '', 'live', 'The address reports are sent from (and that receivers write back to); empty: dmarc-reports@ the first local domain.'),
  'dmarcreport.orgName': setting(text(/^[^\0\r\n<>&]{0,100}$/, 'up to 100 characters, no < > &'), '', 'live', 'The reporting organisation named in the reports (org_name); empty: the host name.'),
  'dmarcreport.hour': setting(int(0, 23), 1, 'live', 'The UTC hour after which the previous UTC day\'s reports are sent (RFC 9990 §3: days begin at 00:00 UTC).'),
  'dmarcreport.maxBytes': setting(int(1024, 50 * 1024 * 1024), 1024 * 1024, 'live',
    'Largest compressed report sent to one domain for one day; beyond it the rows with the fewest messages are left out and the report says so in its error element.'),
  'dmarcreport.maxRows': setting(int(100, 10_000_000), 200_000, 'live', 'Messages recorded per UTC day at most; beyond it no more are recorded that day (a flood must not fill the disk).'),
  'dmarcreport.readIncoming': setting(bool, true, 'live',
    'Read aggregate reports that arrive about the local domains (gzip, zip or XML attachments) into a per-domain summary: `show dmarc`, and an MQTT sensor per domain.'),
} satisfies Record<string, Setting<unknown>>;
