// backup create|restore|verify: one encrypted file holding this board's settings (and its mail
// when asked), src/backup/archive.ts. The passphrase is typed (twice when making a backup), or
// read from a file for scripts (--passphrase-file; the first line).
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../../src/config/store.ts';
import { parseOptions } from './options.ts';
import { askNewSecret, Cancelled } from './secrets.ts';
import { UsageError, EXIT, type Command, type CommandEnv } from './types.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const CREATE_USAGE = 'backup create [--with-mail] [--passphrase-file F] FILE';
const RESTORE_USAGE = 'backup restore [--passphrase-file F] FILE';
const VERIFY_USAGE = 'backup verify [--passphrase-file F] FILE';

/** Loaded at first use: the age and tar code stays out of an idle board's memory. */
const archive = () => import('../../src/backup/archive.ts');

async function passphraseFrom(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((err: Error) => {
    throw new UsageError(`--passphrase-file: ${err.message}`);
  });
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new UsageError(`--passphrase-file: ${file} is empty`);
  return line;
}

async function askPassphrase(env: CommandEnv, file: string | undefined): Promise<string> {
  if (file !== undefined) return passphraseFrom(file);
  const typed = await env.prompt('Backup passphrase: ', { secret: true });
  if (typed === null || typed === '') throw new Cancelled('cancelled');
  return typed;
}

function oneFile(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new UsageError(`usage: ${usage}`);
  return resolve(positionals[0]!);
}

/** The backup errors the owner must read as they are (wrong passphrase, damaged file, …). */
async function reported(env: CommandEnv, name: string, work: () => Promise<number>): Promise<number> {
  const { BackupError } = await archive();
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof BackupError)) throw err;
    env.err.write(`${name}: ${err.message}\n`);
    return EXIT.failed;
  }
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export const backupCommand: Command = {
  name: 'backup',
  summary: 'an encrypted backup of settings (and mail): create, verify, restore',
  subcommands: [
    {
      name: 'create',
      summary: 'write settings, users, DKIM keys, certificates, aliases (--with-mail: and every mailbox) to FILE, encrypted',
      usage: CREATE_USAGE,
      async run(args, env) {
        const { values, positionals } = parseOptions(args, { 'with-mail': { type: 'boolean' }, 'passphrase-file': { type: 'string' } }, CREATE_USAGE);
        const file = oneFile(positionals, CREATE_USAGE);
        const fromFile = values['passphrase-file'];
        const passphrase = fromFile !== undefined ? await passphraseFrom(fromFile) : await askNewSecret(env, 'backup passphrase', { key: 'passphrase', check: passphraseRules });
        passphraseRules(passphrase);
        return reported(env, 'backup create', async () => {
          const { createBackup } = await archive();
          const made = await createBackup(env.ctx.dataDir, file, { passphrase, withMail: values['with-mail'] === true, firmware: VERSION });
          env.out.write(`backup written: ${made.file} (${mib(made.bytes)}, ${made.files} files, ${made.manifest.parts.join(' and ')})\n`);
          return EXIT.ok;
        });
      },
    },
    {
      name: 'passphrase',
      summary: 'set the passphrase scheduled backups (backup.folder) are encrypted with; asked twice',
      usage: 'backup passphrase',
      async run(args, env) {
        if (args.length > 0) throw new UsageError('usage: backup passphrase');
        const passphrase = await askNewSecret(env, 'backup passphrase', { key: 'passphrase', check: passphraseRules });
        const { setSchedulePassphrase } = await import('../../src/backup/schedule.ts');
        await setSchedulePassphrase(env.ctx.dataDir, passphrase);
        env.out.write(`scheduled backups will use it${env.ctx.store.get('backup.folder') ? '' : " (set backup.folder to turn them on)"}; keep it apart from the board: without it no backup opens\n`);
        return EXIT.ok;
      },
    },
    {
      name: 'verify',
      summary: 'decrypt FILE and check every file against its manifest, changing nothing',
      usage: VERIFY_USAGE,
      async run(args, env) {
        const { values, positionals } = parseOptions(args, { 'passphrase-file': { type: 'string' } }, VERIFY_USAGE);
        const file = oneFile(positionals, VERIFY_USAGE);
        const passphrase = await askPassphrase(env, values['passphrase-file']);
        return reported(env, 'backup verify', async () => {
          const { verifyBackup } = await archive();
          const m = await verifyBackup(env.ctx.dataDir, file, passphrase);
          env.out.write(`backup good: ${m.files.length} files (${m.parts.join(' and ')}) from ${m.hostname}, firmware ${m.firmware}, made ${m.created}\n`);
          return EXIT.ok;
        });
      },
    },
    {
      name: 'restore',
      summary: 'check FILE completely, then replace settings (and mail, if it holds mail) with it',
      usage: RESTORE_USAGE,
      async run(args, env) {
        const { values, positionals } = parseOptions(args, { 'passphrase-file': { type: 'string' } }, RESTORE_USAGE);
        const file = oneFile(positionals, RESTORE_USAGE);
        const passphrase = await askPassphrase(env, values['passphrase-file']);
        return reported(env, 'backup restore', async () => {
          const { restoreBackup } = await archive();
          const r = await restoreBackup(env.ctx.dataDir, file, passphrase);
          env.out.write(`restored ${r.manifest.files.length} files from ${r.manifest.hostname} (${r.manifest.created}): ${r.replaced.join(', ')} replaced` +
            `${r.merged ? `, ${r.merged} quarantine files merged` : ''}\n`);
          await env.ctx.store.reload();
          if (env.hooks.restart) {
            env.out.write('restarting Yubin on the restored settings...\n');
            await env.hooks.restart();
          } else {
            env.out.write('restart Yubin to use them everywhere (console restart, or restart the service)\n');
          }
          return EXIT.ok;
        });
      },
    },
  ],
};

/**
 * The setup wizard's "restore a backup" choice (CommandHooks.restoreBackup): asks for the file and
 * its passphrase and restores it as `backup restore FILE` does. Ctrl-C cancels the setup; a file
 * that does not restore leaves DATA as it was (the console then starts the setup again).
 */
export async function restoreFromSetup(env: CommandEnv): Promise<void> {
  env.out.write("The backup file (on the board image a USB stick is at /media/usb; 'backup restore FILE' does the same later).\n");
  const file = await env.prompt('Backup file: ', { interruptible: true });
  if (file === null) throw new Cancelled('cancelled');
  const restore = backupCommand.subcommands!.find((c) => c.name === 'restore')!;
  try {
    const code = await restore.run!([file.trim()], env);
    env.out.write(code === EXIT.ok ? 'the admin password is now the one of the board the backup was made on\n' : 'nothing restored\n');
  } catch (err) {
    if (err instanceof Cancelled) throw err;
    env.out.write(`nothing restored: ${(err as Error).message}\n`);
  }
}

/** A backup holds password hashes and private keys: its passphrase is the last line of defence. */
function passphraseRules(passphrase: string): void {
  if (passphrase.length < 10) throw new ConfigError('passphrase', 'too short: use at least 10 characters (4 or 5 random words are best)');
}
