// Settings of the quarantine: where held mail waits for an admin, and how it leaves by itself.
import { setting, int, type Kind, type Setting } from '../settings/kinds.ts';

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A duration in seconds, typed as 90, 30s, 15m, 2h, 14d or 1w. */
export function duration(min: number, max: number): Kind<number> {
  const allowed = `a duration from ${min} to ${max} seconds, e.g. 30s, 15m, 2h, 14d`;
  const check = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? null : allowed);
  return {
    allowed,
    check,
    parse(text) {
      const m = /^(\d+)\s*([smhdw]?)$/i.exec(text.trim());
      if (!m) throw new Error(allowed);
      const n = Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] ?? 1);
      if (check(n) !== null) throw new Error(allowed);
      return n;
    },
  };
}

export const settings = {
  'quarantine.expiry': setting(duration(1, 10 * 365 * 86400), 14 * 86400, 'live',
    'How long held mail (spam, blocked attachments, viruses) is kept before it is deleted by itself; nothing for the admin to do (docs/REQUIREMENTS.md §5).'),
  'quarantine.sweepInterval': setting(duration(1, 86400), 3600, 'live',
    'How often the quarantine looks for expired mail.'),
  'quarantine.maxBytes': setting(int(1024 * 1024, 1024 ** 4), 1024 ** 3, 'live',
    'Most bytes the quarantine may hold; beyond, the oldest held mail is deleted first (it would expire first anyway).'),
} satisfies Record<string, Setting<unknown>>;
