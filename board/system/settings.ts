// Settings of the board's operating system that the setup wizard writes: the network (through the
// image's systemd-networkd) and the time zone.
import { setting, path, type Kind, type Setting } from '../../src/settings/kinds.ts';

/** An IANA time zone name the runtime knows (Asia/Tokyo, Europe/Berlin, UTC). */
export const timeZone: Kind<string> = {
  allowed: 'a time zone name such as Asia/Tokyo, Europe/Berlin or UTC',
  check(v) {
    if (typeof v !== 'string' || !/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(v)) return this.allowed;
    try {
      new Intl.DateTimeFormat('en', { timeZone: v });
      return null;
    } catch {
      return this.allowed;
    }
  },
  parse(text) {
    const v = text.trim();
    if (this.check(v) !== null) throw new Error(this.allowed);
    return v;
  },
};

export const settings = {
  'system.timeZone': setting(timeZone, 'UTC', 'live',
    'Time zone of the log and console times and of the daily jobs (DMARC reports); the clock itself stays UTC.'),
  'system.networkDir': setting(path, '', 'live',
    'Folder of systemd-networkd .network files `yubin setup` writes the wired network into (20-wired.network: DHCP or a static address). Empty: the setup leaves the network alone (not a board).'),
} satisfies Record<string, Setting<unknown>>;
