// sd_notify(3) for the appliance under systemd: READY=1 once every listener is up, then
// WATCHDOG=1 at half the unit's WatchdogSec while the firmware says it is healthy, so a wedged
// event loop is restarted by systemd. Node has no unix datagram sockets, so each message goes
// through systemd-notify (the unit sets NotifyAccess=all). Outside systemd it does nothing.
import { execFile } from 'node:child_process';

export interface SystemdNotifier {
  /** Tell systemd the service is up (Type=notify units count as started from here). */
  ready(status?: string): void;
  /** Start the watchdog pings; returns a function that stops them. */
  watchdog(healthy: () => boolean): () => void;
}

function send(fields: string[]): void {
  // A failed ping is not an error of ours: systemd restarts us if pings stop arriving.
  execFile('systemd-notify', fields, { timeout: 5000 }, () => undefined);
}

/** Running as a systemd service (the board's yubin.service): systemd sets these for its units. */
export function underSystemd(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.NOTIFY_SOCKET || env.INVOCATION_ID);
}

export function systemdNotifier(env: NodeJS.ProcessEnv = process.env): SystemdNotifier {
  const active = Boolean(env.NOTIFY_SOCKET);
  const usec = Number(env.WATCHDOG_USEC ?? 0);
  return {
    ready(status) {
      if (active) send(['--ready', ...(status ? [`--status=${status}`] : [])]);
    },
    watchdog(healthy) {
      if (!active || !(usec > 0)) return () => undefined;
      const timer = setInterval(() => {
        if (healthy()) send(['WATCHDOG=1']);
      }, Math.max(1000, usec / 2000));
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
