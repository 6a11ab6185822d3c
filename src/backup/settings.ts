// Settings of scheduled backups: where (a folder, e.g. a USB stick's mount), how often, how many
// kept, and when a backup is overdue (an alert). The passphrase is not a setting: `backup
// passphrase` keeps it in DATA/secrets (config.json is in every backup; the passphrase must not be).
import { setting, int, bool, path, duration, type Setting } from '../settings/kinds.ts';

export const settings = {
  'backup.folder': setting(path, '', 'live',
    "Folder scheduled backups are written to (a USB stick, a network share mounted there); empty: no scheduled backups. Needs 'backup passphrase' once."),
  'backup.interval': setting(duration(1, 366 * 86400), 86400, 'live', 'How often a scheduled backup is made (counted from the newest one in backup.folder).'),
  'backup.keep': setting(int(1, 1000), 7, 'live', 'Scheduled backups kept in backup.folder; older ones are deleted after each new good one.'),
  'backup.withMail': setting(bool, false, 'live', 'Whether scheduled backups hold the mailboxes and the archive too (backup create --with-mail).'),
  'backup.maxAge': setting(duration(1, 366 * 86400), 3 * 86400, 'live',
    'An alert (lifecycle, LEDs and MQTT) is raised when the newest good backup in backup.folder is older than this.'),
} satisfies Record<string, Setting<unknown>>;
