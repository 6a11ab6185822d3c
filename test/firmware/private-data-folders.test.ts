// Every folder under DATA is private (0700): DATA/secrets holds the APOP secrets and the hold key,
// and was made 0755 while the spool, Maildirs and the rest were 0700. A folder left 0755 by older
// firmware is tightened when the firmware starts.
import t from 'tap';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFirmware } from '../../firmware/supervisor.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { holdKey } from '../../src/hold/token.ts';
import { BASE_SETTINGS, seed, tempDir } from '../support/firmware.ts';

const mode = async (path: string) => (await stat(path)).mode & 0o777;

async function folders(dir: string): Promise<string[]> {
  const out = [dir];
  for (const entry of await readdir(dir, { withFileTypes: true })) if (entry.isDirectory()) out.push(...(await folders(join(dir, entry.name))));
  return out;
}

t.test('DATA/secrets is made 0700, like every other data folder', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, BASE_SETTINGS, [{ name: 'alice', password: 'alice-password-1' }]);
  const fw = await startFirmware({ dataDir, ephemeralPorts: true, log: stderrLogger('error') });
  t.teardown(() => fw.stop());
  await fw.ctx.users.setApopSecret('alice', 'apop-secret-1');
  await holdKey(dataDir);
  t.equal(await mode(join(dataDir, 'secrets')), 0o700, 'secrets/ is 0700');
  t.equal(await mode(join(dataDir, 'secrets/apop.json')), 0o600);
  t.equal(await mode(join(dataDir, 'secrets/hold.key')), 0o600);
  for (const dir of await folders(dataDir)) t.equal(await mode(dir), 0o700, `${dir.slice(dataDir.length) || 'DATA'} is 0700`);
});

t.test('a secrets folder left 0755 by older firmware is made 0700 at start, and the warning says so', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, BASE_SETTINGS);
  await mkdir(join(dataDir, 'secrets'));
  await chmod(join(dataDir, 'secrets'), 0o755);
  await writeFile(join(dataDir, 'secrets/apop.json'), '{}\n', { mode: 0o600 });
  const logged: string[] = [];
  const log = { log: (level: string, message: string, fields?: Record<string, unknown>) => void logged.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`) };
  const fw = await startFirmware({ dataDir, ephemeralPorts: true, log });
  t.teardown(() => fw.stop());
  t.equal(await mode(join(dataDir, 'secrets')), 0o700);
  t.ok(logged.includes('warn DATA/secrets was not private: made it 0700 {"was":"0755"}'), 'logged once, with the mode it had');
});
