// What the peer hears when an envelope address is unusable. RFC 3463 §3.2: X.1.3 is a bad
// recipient address, X.1.7 a bad sender address; RFC 6531 §3.5: 5.6.7 is "needs SMTPUTF8".
import type { Reply } from '../mail/types.ts';
import type { AddressError, ParsedAddress } from './parse.ts';

export type AddressRole = 'sender' | 'recipient';

function syntaxReply(role: AddressRole, detail: string): Reply {
  const who = role === 'sender' ? 'Sender' : 'Recipient';
  return { code: 501, enhanced: role === 'sender' ? '5.1.7' : '5.1.3', text: `${who} address syntax error: ${detail}` };
}

export function addressErrorReply(error: AddressError, role: AddressRole): Reply {
  if (error.problem === 'needs-smtputf8') {
    return { code: 553, enhanced: '5.6.7', text: `${role === 'sender' ? 'Sender' : 'Recipient'} address rejected: ${error.detail}` };
  }
  return syntaxReply(role, error.detail);
}

export type UnusableForm = 'nested-at' | 'no-domain' | 'bare-ip';

/** Forms that parse but name no mailbox anyone could deliver to, whoever sends them. */
export function unusableForm(address: ParsedAddress, role: AddressRole): { reason: UnusableForm; reply: Reply } | null {
  const f = address.flags;
  if (f.nestedAt && !f.quoted) {
    return { reason: 'nested-at', reply: syntaxReply(role, 'an "@" inside the local part must be quoted (RFC 5321 §4.1.2)') };
  }
  if (f.noDomain) return { reason: 'no-domain', reply: syntaxReply(role, 'the address needs a domain: user@example.com') };
  if (f.bareIp) {
    return { reason: 'bare-ip', reply: syntaxReply(role, 'an IP address domain must be bracketed: user@[192.0.2.1] (RFC 5321 §4.1.3)') };
  }
  return null;
}
