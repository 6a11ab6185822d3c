// Settings of the mail archive (docs/REQUIREMENTS.md §7: a record of every message sent deters leaks).
import { setting, int, bool, type Setting } from '../settings/kinds.ts';

export const settings = {
  'archive.enabled': setting(bool, true, 'live', 'Keep a copy of every outbound message in DATA/archive.'),
  'archive.inbound': setting(bool, false, 'live', 'Also keep a copy of every inbound message.'),
  'archive.maxBytes': setting(int(1024 * 1024, 2 ** 50), 1024 ** 3, 'live',
    'Bytes the archive may hold; beyond it the oldest copies are dropped first (never the live queue).'),
  'archive.maxAgeDays': setting(int(1, 36500), 365, 'live', 'Days a copy is kept before it is dropped.'),
} satisfies Record<string, Setting<unknown>>;
