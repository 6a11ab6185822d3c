// Settings of the sender checks (SPF, Sender ID, DKIM, DMARC, ARC) on inbound mail.
import { setting, bool, int, oneOf, type Setting } from '../settings/kinds.ts';

/** What to do with a message whose check came out badly. tag: deliver with X-Yubin-Auth-Warning. */
export const action = oneOf('reject', 'quarantine', 'tag', 'accept');
export type Action = 'reject' | 'quarantine' | 'tag' | 'accept';

export const settings = {
  'senderauth.enabled': setting(bool, true, 'live',
    'Check SPF, Sender ID, DKIM, DMARC and ARC on inbound mail and add one Authentication-Results header (RFC 8601) plus Received-SPF.'),
  'senderauth.checkTrusted': setting(bool, false, 'live',
    'Run these checks (and add Authentication-Results) on mail from trustedNetworks too. Off by default: mail from trustedNetworks counts as our own users\' outbound mail and skips SPF, Sender ID, DKIM, DMARC, ARC and the spam score (it is DKIM-signed instead). On: a trusted client that has not logged in is checked as a stranger would be, by the policies below; its relay rights stay. Its LAN address seldom passes SPF, so keep spfFail at tag unless the LAN relays through a listed address.'),
  'senderauth.strict': setting(bool, true, 'live',
    'Follow RFC 7208/6376/8301/7489 exactly (rsa-sha1 and malformed records fail). false accepts what lenient verifiers accept.'),
  'senderauth.minRsaBits': setting(int(1024, 4096), 1024, 'live',
    'Shortest RSA DKIM key accepted; RFC 8301 §3.2 forbids keys under 1024 bits.'),
  'senderauth.arc': setting(bool, true, 'live', 'Verify ARC chains (RFC 8617) and report arc= in Authentication-Results.'),
  'senderauth.spfFail': setting(action, 'reject', 'live',
    'SPF fail (the domain lists allowed senders and this client is not one, "-all") for a domain without DMARC: reject answers 550 5.7.23 (RFC 7372). Where the domain publishes DMARC, its policy decides instead (RFC 7489 §10.1).'),
  'senderauth.spfSoftfail': setting(action, 'tag', 'live', 'SPF softfail ("~all") for a domain without DMARC: the domain asks to accept with suspicion.'),
  'senderauth.spfPermerror': setting(action, 'tag', 'live', 'SPF permerror: the domain\'s record is broken; rejecting punishes a typo, so tag by default.'),
  'senderauth.temperror': setting(oneOf('tempfail', 'tag', 'accept'), 'tempfail', 'live',
    'SPF or DMARC lookup failed for a temporary reason (DNS timeout, SERVFAIL): tempfail answers 451 4.7.24 so the sender retries later.'),
  'senderauth.senderIdFail': setting(action, 'tag', 'live',
    'Sender ID (RFC 4406) fail on the Purported Responsible Address. Experimental and often wrong for mailing lists, so tag by default.'),
  'senderauth.dkimFail': setting(action, 'tag', 'live',
    'Every DKIM signature failed (none passed). RFC 6376 §6.3: a failed signature is treated as no signature, so tag by default; reject answers 550 5.7.20.'),
  'senderauth.dmarcReject': setting(action, 'reject', 'live',
    'DMARC failed and the author domain publishes p=reject: reject honours the domain owner (550 5.7.1, RFC 7489 §6.7).'),
  'senderauth.dmarcQuarantine': setting(action, 'quarantine', 'live', 'DMARC failed and the author domain publishes p=quarantine.'),
} satisfies Record<string, Setting<unknown>>;

export interface SenderAuthPolicy {
  spfFail: Action;
  spfSoftfail: Action;
  spfPermerror: Action;
  temperror: 'tempfail' | 'tag' | 'accept';
  senderIdFail: Action;
  dkimFail: Action;
  dmarcReject: Action;
  dmarcQuarantine: Action;
}

/** The policy as the config store holds it. */
export function policyFrom(store: { get(key: string): unknown }): SenderAuthPolicy {
  const g = <T>(key: keyof typeof settings) => store.get(key) as T;
  return {
    spfFail: g('senderauth.spfFail'),
    spfSoftfail: g('senderauth.spfSoftfail'),
    spfPermerror: g('senderauth.spfPermerror'),
    temperror: g('senderauth.temperror'),
    senderIdFail: g('senderauth.senderIdFail'),
    dkimFail: g('senderauth.dkimFail'),
    dmarcReject: g('senderauth.dmarcReject'),
    dmarcQuarantine: g('senderauth.dmarcQuarantine'),
  };
}
