// Settings sections owned by later stations (delivery, POP3, content checks, board).
// Each station exports `settings` from its own settings.ts; add one spread line here.
import { type Setting } from './kinds.ts';

export const stationSettings = {
} satisfies Record<string, Setting<unknown>>;
