// Settings of the mis-send delay (docs/REQUIREMENTS.md §7, "mail that is not sent at once").
import { setting, int, bool, list, domain, type Setting } from '../settings/kinds.ts';

export const settings = {
  'hold.delaySeconds': setting(int(0, 24 * 3600), 0, 'live',
    'Seconds outbound mail from local users waits before it leaves, so a mis-sent message can still be cancelled; 0 turns the delay off.'),
  'hold.domains': setting(list(domain), [], 'live',
    'Recipient domains the delay applies to; empty: every foreign (non-local) domain.'),
  'hold.notify': setting(bool, true, 'live',
    'Send the sender a notice in their own mailbox with the cancel address (cancel+ID+TOKEN@hostname) when a message is held.'),
} satisfies Record<string, Setting<unknown>>;
