// Scheduled backups in the running firmware: into backup.folder every backup.interval, only the
// newest backup.keep kept, each one a good backup; a folder that is gone or no passphrase is a
// lifecycle alert, and mail goes on.
import t from 'tap';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFirmware } from '../../firmware/supervisor.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { setSchedulePassphrase } from '../../src/backup/schedule.ts';
import { verifyBackup } from '../../src/backup/archive.ts';
import { tempDir, seed, BASE_SETTINGS } from '../support/firmware.ts';

const passphrase = 'scheduled backup passphrase';

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

t.test('backups every interval into the folder, the newest backup.keep kept, each one good', async (t) => {
  const dataDir = await tempDir(t);
  const folder = await tempDir(t, 'yubin-stick-');
  await seed(dataDir, { ...BASE_SETTINGS, 'backup.folder': folder, 'backup.interval': 1, 'backup.keep': 2 }, [{ name: 'alice', password: 'alice-password' }]);
  await setSchedulePassphrase(dataDir, passphrase);
  const fw = await startFirmware({ dataDir, ephemeralPorts: true, log: stderrLogger('error'), backupLookMs: 300 });
  t.teardown(() => fw.stop());
  const backups = async () => (await readdir(folder)).filter((n) => !n.startsWith('.')).sort();
  const first = await until('a first backup', async () => ((await backups()).length > 0 ? await backups() : undefined));
  t.match(first[0], /^yubin-mx\.yubin\.test-\d{8}T\d{6}Z\.age$/);
  // Names carry the second: wait for a few more seconds' worth of backups.
  await sleep(4500);
  const kept = await backups();
  t.equal(kept.length, 2, `only the newest 2 kept: ${kept.join(' ')}`);
  for (const name of kept) t.match((await verifyBackup(dataDir, join(folder, name), passphrase)).files.map((f) => f.path), ['config.json'], `${name} is a good backup`);
  t.same(fw.alerts.recent().filter((a) => a.kind === 'lifecycle'), [], 'no alert while backups succeed');
});

t.test('a folder that is gone, or no passphrase, is a lifecycle alert', async (t) => {
  const dataDir = await tempDir(t);
  const folder = await tempDir(t, 'yubin-stick-');
  // No cool-down: the second trouble is a second alert at once (the rule is one alert per source and cool-down).
  await seed(dataDir, { ...BASE_SETTINGS, 'backup.folder': folder, 'backup.interval': 1, 'backup.maxAge': 1, 'alerts.cooldown': 0 });
  const fw = await startFirmware({ dataDir, ephemeralPorts: true, log: stderrLogger('error'), backupLookMs: 200 });
  t.teardown(() => fw.stop());
  const noPass = await until('an alert', async () => fw.alerts.recent().find((a) => a.kind === 'lifecycle'));
  t.match(noPass, { severity: 'critical', source: 'backup', text: /no passphrase set: type 'backup passphrase'/ });
  fw.alerts.ack();
  await setSchedulePassphrase(dataDir, passphrase);
  await rm(folder, { recursive: true });
  const gone = await until('the folder alert', async () => fw.alerts.recent().find((a) => a.kind === 'lifecycle' && /cannot be read/.test(a.text)), 20_000);
  t.match(gone.text, /is the stick plugged in\?/);
});
