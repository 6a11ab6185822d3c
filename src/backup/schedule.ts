// Scheduled backups: every backup.interval an encrypted backup (archive.ts) into backup.folder,
// named yubin-<host>-<UTC time>.age, then only the newest backup.keep of them are kept. A backup
// that fails, and a newest good backup older than backup.maxAge, are `lifecycle` alerts (LEDs,
// MQTT, show alerts). An extension: a missing stick never touches mail.
import { readdir, stat, rm, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../files/durable.ts';
import { secretsDir } from '../config/secrets-dir.ts';
import type { Context, Service } from '../context.ts';

const NAME = /^yubin-.+-\d{8}T\d{6}Z\.age$/;
/** How often the schedule looks (and re-reads its settings); a due backup waits at most this. */
const LOOK_MS = 60_000;

export const passphraseFile = (dataDir: string) => join(secretsDir(dataDir), 'backup-passphrase');

export async function setSchedulePassphrase(dataDir: string, passphrase: string): Promise<void> {
  await writeFileDurable(passphraseFile(dataDir), `${passphrase}\n`, 0o600);
}

export async function schedulePassphrase(dataDir: string): Promise<string | null> {
  const text = await readFile(passphraseFile(dataDir), 'utf8').catch(() => null);
  const line = text?.split('\n')[0] ?? '';
  return line === '' ? null : line;
}

/** The scheduled backups in `folder`, newest first, with their times. */
export async function scheduledBackups(folder: string): Promise<Array<{ name: string; mtimeMs: number }>> {
  const names = (await readdir(folder)).filter((n) => NAME.test(n));
  const out = await Promise.all(names.map(async (name) => ({ name, mtimeMs: (await stat(join(folder, name))).mtimeMs })));
  return out.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.name < b.name ? 1 : -1));
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

export interface ScheduleOptions {
  firmware: string;
  /** Look this often (tests shorten it). */
  lookMs?: number;
  now?: () => number;
}

export function backupScheduleService(ctx: Context, options: ScheduleOptions): Service {
  const lookMs = options.lookMs ?? LOOK_MS;
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let lastProblem = '';

  const problem = (text: string) => {
    ctx.log.log('error', text);
    // One alert per distinct trouble, not one a minute.
    if (text !== lastProblem) ctx.bus.emit('lifecycle.problem', { source: 'backup', text });
    lastProblem = text;
  };

  const look = async (): Promise<void> => {
    const folder = ctx.store.get('backup.folder');
    if (folder === '') return;
    const list = await scheduledBackups(folder).catch((err: Error) => {
      problem(`scheduled backup: folder ${folder} cannot be read (${err.message}): is the stick plugged in?`);
      return null;
    });
    if (list === null) return;
    const newest = list[0]?.mtimeMs;
    if (newest === undefined || now() - newest >= ctx.store.get('backup.interval') * 1000) {
      const passphrase = await schedulePassphrase(ctx.dataDir);
      if (passphrase === null) {
        problem("scheduled backup: no passphrase set: type 'backup passphrase' on the console");
      } else {
        const file = join(folder, `yubin-${ctx.store.get('hostname')}-${stamp(new Date(now()))}.age`);
        try {
          const { createBackup } = await import('./archive.ts');
          const made = await createBackup(ctx.dataDir, file, { passphrase, withMail: ctx.store.get('backup.withMail'), firmware: options.firmware });
          ctx.log.log('info', 'scheduled backup written', { file, bytes: made.bytes, files: made.files });
          lastProblem = '';
          const keep = ctx.store.get('backup.keep');
          for (const old of (await scheduledBackups(folder)).slice(keep)) await rm(join(folder, old.name), { force: true });
          return;
        } catch (err) {
          problem(`scheduled backup to ${file} failed: ${(err as Error).message}`);
        }
      }
    }
    const age = newest === undefined ? Infinity : now() - newest;
    const maxAge = ctx.store.get('backup.maxAge') * 1000;
    if (age > maxAge) {
      problem(newest === undefined ? `no good backup in ${folder} yet` : `the newest good backup in ${folder} is ${Math.floor(age / 3_600_000)} h old (backup.maxAge ${Math.floor(maxAge / 3_600_000)} h)`);
    }
  };

  const arm = () => {
    timer = setTimeout(() => {
      running = look().catch((err: Error) => problem(`scheduled backup failed: ${err.message}`)).then(() => {
        if (timer !== undefined) arm();
      });
    }, lookMs);
    timer.unref();
  };

  return {
    name: 'backup-schedule',
    async start() {
      arm();
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
