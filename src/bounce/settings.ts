// Settings of the bounce station: delivery status notifications (RFC 3464) to envelope senders.
import { setting, int, type Setting } from '../settings/kinds.ts';

export const settings = {
  'bounce.maxReturnedHeaderBytes': setting(int(1024, 1024 * 1024), 64 * 1024, 'live',
    'Bytes of the original header returned in a bounce (text/rfc822-headers); the body is never returned.'),
} satisfies Record<string, Setting<unknown>>;
