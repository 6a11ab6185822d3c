#!/usr/bin/env node
// `yubin`: the appliance's one command. `yubin start` runs the firmware; every other subcommand
// (user, domain, alias, config, queue, check, ...) is the same command language the serial console
// speaks, from firmware/commands/.
import { resolve, dirname } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startFirmware, type Firmware } from './supervisor.ts';
import { systemdNotifier, underSystemd } from './sd-notify.ts';
import { sessionGuard } from '../src/guard/session-guard.ts';
import { START_USAGE } from './commands/start.ts';
import { applyPendingReset } from './lifecycle/reset.ts';
import { checkResetButton } from './lifecycle/reset-button.ts';
import { stderrLogger } from '../src/log/logger.ts';
import { restoreFromSetup } from './commands/backup.ts';

const checkout = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface StartArgs {
  dataDir: string;
  configFile?: string;
  ephemeralPorts: boolean;
  /** Make the data folder when it does not exist (--init). */
  init: boolean;
  /** The folder was named (--data or YUBIN_DATA), not the checkout's ./var. */
  named: boolean;
}

/**
 * A data folder named on purpose (--data, YUBIN_DATA) must exist: a typo would otherwise start an
 * empty appliance, or change settings nobody reads. --init makes a new one. ./var, the default of
 * `npm start` in a checkout, is made as needed.
 */
export function checkDataFolder(dir: string, named: boolean, init: boolean): void {
  if (!named || init || existsSync(dir)) return;
  throw new Error(`${dir}: no such data folder; to start a new one there, add --init (yubin --data ${dir} --init ...)`);
}

export function parseStartArgs(argv: string[]): StartArgs {
  const named = process.env.YUBIN_DATA !== undefined;
  const args: StartArgs = { dataDir: process.env.YUBIN_DATA ?? resolve(checkout, 'var'), ephemeralPorts: false, init: false, named };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--data') {
      args.dataDir = value();
      args.named = true;
    } else if (a === '--init') args.init = true;
    else if (a === '--config') args.configFile = value();
    else if (a === '--ephemeral-ports') args.ephemeralPorts = true;
    else throw new Error(`unknown option ${a} (usage: yubin ${START_USAGE})`);
  }
  return args;
}

async function start(argv: string[]): Promise<void> {
  const { init, named, ...args } = parseStartArgs(argv);
  checkDataFolder(args.dataDir, named, init);
  let firmware: Firmware;
  let stopping = false;
  // Under systemd (the image's Type=notify unit): READY=1 after the ready line, then watchdog
  // pings from the event loop, so a wedged loop gets the process restarted. Elsewhere a no-op.
  const systemd = systemdNotifier();
  let stopWatchdog: (() => void) | undefined;
  let poweredOn = true;
  const boot = async () => {
    // The reset button, held at power-on, asks for one (only at the first start of this process:
    // the console's restart is not a power-on). A factory reset asked for before this start, by
    // the console or the button, is carried out before anything opens the data.
    if (poweredOn) await checkResetButton(resolve(args.dataDir), (line) => process.stdout.write(`yubin: ${line}\n`), stderrLogger('info'));
    poweredOn = false;
    const reset = await applyPendingReset(resolve(args.dataDir));
    if (reset) process.stdout.write(`yubin: factory reset (${reset}) done: starting as new\n`);
    firmware = await startFirmware({
      ...args,
      console: true,
      restart: () => void restart(),
      shutdown,
      reset: resetNow,
      // The image's boot test and the test suite wait for this line.
      onReady: (ports) => {
        const list = Object.entries(ports).map(([k, v]) => `${k}=${v}`).join(' ');
        process.stdout.write(`yubin: ready ${list} data=${resolve(args.dataDir)}\n`);
        systemd.ready(`ready ${list}`);
        stopWatchdog ??= systemd.watchdog(() => !stopping);
      },
    });
  };
  // The console's `restart`: stop every service and start them again from the committed config.
  const restart = async () => {
    if (stopping) return;
    firmware.ctx.log.log('info', 'restarting');
    await firmware.stop();
    await boot();
  };
  // The last resort (src/guard/): an error that escapes inside a client session ends that session
  // only; its service logs and alerts. Outside any session a stray rejection is logged, but an
  // uncaught exception leaves state we cannot trust: stop and let systemd start us again.
  process.on('unhandledRejection', (err) => {
    if (sessionGuard.contain(err)) return;
    (firmware as Firmware | undefined)?.ctx.log.log('error', 'unhandled rejection outside any session', { error: (err as Error)?.stack ?? String(err) });
  });
  process.on('uncaughtException', (err) => {
    if (sessionGuard.contain(err)) return;
    process.stderr.write(`yubin: uncaught exception outside any session, exiting: ${err.stack ?? String(err)}\n`);
    process.exit(70);
  });
  // SIGTERM (systemd, kill), SIGINT (Ctrl-C where the console is not on this terminal), and the
  // console's `shutdown`: listeners close, sessions are told, DATA gets smtp.shutdownGrace, exit 0.
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    stopWatchdog?.();
    firmware.ctx.log.log('info', 'stopping', { why });
    // A stop that hangs must still end the process (systemd would kill it after TimeoutStopSec).
    const graceMs = firmware.ctx.store.get('smtp.shutdownGrace') * 1000;
    setTimeout(() => {
      firmware.ctx.log.log('error', 'stop took too long: exiting anyway');
      process.exit(1);
    }, graceMs + 30_000).unref();
    firmware.stop().then(
      () => {
        firmware.ctx.log.log('info', 'stopped');
        process.exit(0);
      },
      (err: Error) => {
        firmware.ctx.log.log('error', 'stop failed', { error: err.message });
        process.exit(1);
      },
    );
  };
  // On the board systemd powers off or reboots, stopping yubin.service (SIGTERM) on the way;
  // elsewhere `shutdown` stops the process and there is no board to reboot.
  async function shutdown(how: 'poweroff' | 'reboot'): Promise<string> {
    if (underSystemd()) {
      await promisify(execFile)('systemctl', ['--no-block', how], { timeout: 10_000 });
      return how === 'poweroff' ? 'powering off: Yubin stops first, then the board' : 'rebooting: Yubin stops first, then the board restarts';
    }
    if (how === 'reboot') throw new Error("not on a board (no systemd here): 'restart' restarts Yubin, 'shutdown' stops it");
    setImmediate(() => stop('console shutdown'));
    return 'stopping Yubin';
  }
  // factory-reset: on the board a reboot (the data partition may be re-made before the firmware
  // starts); elsewhere a restart in place, which carries the reset out first (boot above).
  async function resetNow(): Promise<string> {
    if (underSystemd()) {
      await promisify(execFile)('systemctl', ['--no-block', 'reboot'], { timeout: 10_000 });
      return 'rebooting to reset: Yubin stops first, then the board starts as new';
    }
    setImmediate(() => void restart());
    return 'restarting Yubin to reset';
  }
  await boot();
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'start') {
    await start(rest);
    return -1; // keep running
  }
  // The firmware's own child for ACME orders (src/acme/worker.ts), never typed by an admin.
  if (command === 'acme-worker') {
    await (await import('../src/acme/worker.ts')).workerMain();
    return 0;
  }
  // Every other command works on the data folder directly (as `postconf` does on main.cf);
  // a running firmware picks up committed changes by watching the config file.
  let dataDir = process.env.YUBIN_DATA ?? resolve(checkout, 'var');
  let named = process.env.YUBIN_DATA !== undefined;
  const words = [...argv];
  const at = words.indexOf('--data');
  if (at >= 0) {
    const value = words[at + 1];
    if (value === undefined) throw new Error('--data needs a folder');
    dataDir = value;
    named = true;
    words.splice(at, 2);
  }
  const init = words.indexOf('--init');
  if (init >= 0) words.splice(init, 1);
  checkDataFolder(dataDir, named, init >= 0);
  const { runCli } = await import('./commands/cli.ts');
  const { senderAuthChecks } = await import('./checks.ts');
  return runCli(words, { dataDir, hooks: (ctx) => ({ checks: senderAuthChecks(ctx), restoreBackup: restoreFromSetup }) });
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`yubin: ${err.message}\n`);
    process.exitCode = 2;
  },
);
