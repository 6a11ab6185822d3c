// The command language shared by the `yubin` CLI and the serial console: what a command is and
// what it gets to run. Stations that are absent (no alert engine, no firewall) leave their hook
// out and the commands that need it answer "not available".
import type { Context } from '../../src/context.ts';
import type { AlertEngine } from '../../src/alerts/engine.ts';
import type { FeatureRecords } from '../../src/dnsrecords/facts.ts';

export type Surface = 'cli' | 'console';

export interface Writer {
  write(text: string): void;
}

/** One diagnostic (`check NAME …`), provided by the station that knows how. */
export interface CheckHook {
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[], out: Writer): Promise<number>;
}

/** What other stations lend the commands; every hook is optional. */
export interface CommandHooks {
  /** Extra lines for `show status` (listeners, queue depth, uptime of services...). */
  status?(): Promise<string> | string;
  /** `show queue`: the queue as text, one message a line. */
  queue?(): Promise<string> | string;
  alerts?: Pick<AlertEngine, 'recent' | 'ack'>;
  firewall?: { status(): Promise<string> };
  checks?: Readonly<Record<string, CheckHook>>;
  restart?(): Promise<void> | void;
  /** `shutdown` / `reboot`: stop the appliance (on the board: then power it off or reboot it).
   * Returns at once with what is going to happen; the stop itself follows. */
  shutdown?(how: 'poweroff' | 'reboot'): Promise<string> | string;
  /** `factory-reset`: carry out the reset just requested (restart Yubin; on the board reboot it).
   * Returns at once with what is going to happen. */
  reset?(): Promise<string> | string;
  /** Send the DMARC aggregate reports of the finished days now (`now`: the clock to judge "finished" by). */
  sendDmarcReports?(now?: number): Promise<number>;
  /** The setup wizard's "restore a backup" choice (the backup feature brings it; absent: not offered). */
  restoreBackup?(env: CommandEnv): Promise<void>;
  /** Records of features that are on (MTA-STS, TLS-RPT) for `dns` / `show dns`. */
  dnsFeatures?: FeatureRecords;
}

export interface PromptOptions {
  /** Do not echo what is typed (passwords, secrets). */
  secret?: boolean;
  /** Ctrl-C cancels the prompt (null) instead of only clearing the line (the setup wizard). */
  interruptible?: boolean;
}

export interface CommandEnv {
  readonly ctx: Context;
  readonly surface: Surface;
  readonly out: Writer;
  readonly err: Writer;
  /** Ask the operator one line; null when the input ended or the prompt was cancelled. */
  prompt(question: string, options?: PromptOptions): Promise<string | null>;
  readonly hooks: CommandHooks;
  /** Where relative file names given to the command are (the CLI's own folder, also over the control socket). */
  readonly cwd?: string;
  /** false: a CLI process that found no running board to talk to (board commands then say so);
   * true: inside the running firmware (the console, or the CLI through the control socket). */
  readonly onBoard?: boolean;
  /** Console only: end the session after this command. */
  logout?(): void;
}

export interface Command {
  readonly name: string;
  /** One line for `help`. */
  readonly summary: string;
  /** e.g. "user add NAME [--password P]"; parents list their subcommands' usages instead. */
  readonly usage?: string;
  /** Where the command exists; both when absent. */
  readonly surfaces?: readonly Surface[];
  /** It needs the running firmware (its queue manager, alerts, counters, power switch): from the
   * CLI it runs through the control socket, and without a running board it says so. */
  readonly board?: boolean;
  /** It always runs in the calling process, never through the control socket (it writes to that
   * process's stdout as a stream). */
  readonly here?: (args: readonly string[]) => boolean;
  readonly subcommands?: readonly Command[];
  run?(args: string[], env: CommandEnv): Promise<number> | number;
}

/** Bad words on the command line: exit 2 with the usage line. */
export class UsageError extends Error {}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
