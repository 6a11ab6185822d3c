// Settings of the log: how much is written and where (docs/LOGGING.md has the line format).
import { setting, int, oneOf, type Setting } from '../settings/kinds.ts';

export const settings = {
  'log.level': setting(oneOf('debug', 'info', 'warn', 'error'), 'info', 'live',
    'Lowest level written to the log. info has one line per recipient for every final outcome (sent, bounced, deferred, held, cancelled, quarantined, rejected); debug adds what every content check found. The message trace (yubin trace) is kept whatever the level.'),
  'log.file': setting(oneOf('auto', 'on', 'off'), 'auto', 'live',
    'Write DATA/log/yubin.log (rotated by size) besides stderr. auto: on, except under systemd (the board image), where stderr goes to journald (journalctl -u yubin).'),
  'log.fileMaxBytes': setting(int(16 * 1024, 1024 ** 3), 4 * 1024 * 1024, 'live',
    'Bytes DATA/log/yubin.log may reach before it is rotated to yubin.log.1 (and .1 to .2 …).'),
  'log.fileKeep': setting(int(0, 20), 2, 'live',
    'Rotated log files kept beside yubin.log; the folder holds at most (log.fileKeep + 1) × log.fileMaxBytes.'),
} satisfies Record<string, Setting<unknown>>;
