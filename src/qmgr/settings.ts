import { setting, int, list } from '../settings/kinds.ts';

export const settings = {
  'queue.concurrency': setting(int(1, 200), 10, 'live', 'Queue entries delivered at the same time.'),
  'queue.retryMinutes': setting(list(int(1, 1440)), [5, 15, 30, 60], 'live',
    'Minutes between delivery attempts after a temporary failure; the last value repeats (about 5m, 15m, 30m, 1h, then hourly).'),
  'queue.delayWarningHours': setting(int(0, 24 * 30), 4, 'live',
    'Hours a message may wait before its sender gets one "delayed" notice (RFC 3464 Action: delayed); 0 sends none.'),
  'queue.maxAgeHours': setting(int(1, 24 * 30), 120, 'live', 'Hours a message may wait for delivery before it bounces (5 days, RFC 5321 §4.5.4.1).'),
};
