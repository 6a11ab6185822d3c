// Settings of the quarantine: where held mail waits for an admin, and how it leaves by itself.
import { setting, int, duration, type Setting } from '../settings/kinds.ts';

export const settings = {
  'quarantine.expiry': setting(duration(1, 10 * 365 * 86400), 14 * 86400, 'live',
    'How long held mail (spam, blocked attachments, viruses) is kept before it is deleted by itself; nothing for the admin to do (docs/REQUIREMENTS.md §5).'),
  'quarantine.sweepInterval': setting(duration(1, 86400), 3600, 'live',
    'How often the quarantine looks for expired mail.'),
  'quarantine.maxBytes': setting(int(1024 * 1024, 1024 ** 4), 1024 ** 3, 'live',
    'Most bytes the quarantine may hold; beyond, the oldest held mail is deleted first (it would expire first anyway).'),
} satisfies Record<string, Setting<unknown>>;
