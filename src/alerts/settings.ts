// Alert thresholds: N events of one kind from one source within a window raise one alert.
import { setting, int } from '../settings/kinds.ts';
import type { Setting } from '../settings/kinds.ts';

const count = int(1, 100000);
const seconds = int(1, 7 * 24 * 3600);

export const settings = {
  'alerts.relayThreshold': setting(count, 3, 'live',
    'Denied relay attempts (relay table row 3) from one client within alerts.relayWindow that make a relay attack alert.'),
  'alerts.relayWindow': setting(seconds, 600, 'live', 'Seconds over which denied relays from one client are counted.'),
  'alerts.authThreshold': setting(count, 5, 'live',
    'Failed logins (SMTP AUTH, POP3, console) from one client within alerts.authWindow that make a password-guessing alert.'),
  'alerts.authWindow': setting(seconds, 600, 'live', 'Seconds over which failed logins from one client are counted.'),
  'alerts.virusThreshold': setting(count, 1, 'live', 'Viruses found in mail from one client within alerts.virusWindow that make an alert.'),
  'alerts.virusWindow': setting(seconds, 3600, 'live', 'Seconds over which viruses from one client are counted.'),
  'alerts.op25bThreshold': setting(count, 1, 'live',
    'Blocked LAN → WAN TCP/25 packets from one LAN host within alerts.op25bWindow that make an alert (a bot inside the office).'),
  'alerts.op25bWindow': setting(seconds, 600, 'live', 'Seconds over which OP25B hits from one LAN host are counted.'),
  'alerts.deliveryFailureThreshold': setting(count, 10, 'live',
    'Failed deliveries (any recipient) within alerts.deliveryFailureWindow that make an alert.'),
  'alerts.deliveryFailureWindow': setting(seconds, 3600, 'live', 'Seconds over which failed deliveries are counted.'),
  'alerts.queueBacklog': setting(int(1, 10000000), 500, 'live', 'Queue depth at or above which a queue.backlog event makes an alert.'),
  'alerts.diskLowMiB': setting(int(0, 100000000), 200, 'live',
    'Free space (MiB, for unprivileged writers) on the data folder below which a disk-low alert is raised; 0 turns the check off.'),
  'alerts.checkSeconds': setting(int(1, 3600), 30, 'live', 'Seconds between checks of free disk space and queue depth.'),
  'alerts.cooldown': setting(int(0, 7 * 24 * 3600), 600, 'live',
    'Seconds after an alert during which the same kind and source raise no new alert once acknowledged (stops an ongoing attack from re-raising every minute).'),
  'alerts.recent': setting(int(1, 10000), 100, 'live', 'Alerts kept in memory for `show alerts` (oldest dropped first).'),
  'alerts.maxSources': setting(int(16, 1000000), 4096, 'live',
    'Clients tracked at once for thresholds; the longest-idle is forgotten beyond this (bounds memory under a spoofed-address flood).'),
} satisfies Record<string, Setting<unknown>>;
