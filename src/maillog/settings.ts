// Settings of the message trace (yubin trace): how long its index keeps what happened, and how big it may grow.
import { setting, int, type Setting } from '../settings/kinds.ts';

export const settings = {
  'trace.days': setting(int(1, 366), 7, 'live',
    'Days the message trace (yubin trace, console trace) remembers: arrivals, what each check found, every delivery attempt. Kept in DATA/trace/ whatever log.level says.'),
  'trace.maxBytes': setting(int(1024 * 1024, 1024 ** 3), 32 * 1024 * 1024, 'live',
    'Bytes DATA/trace/ may hold; the oldest days go first when it is full (about 1.5 KiB per message: 32 MiB is some 20,000 messages).'),
} satisfies Record<string, Setting<unknown>>;
