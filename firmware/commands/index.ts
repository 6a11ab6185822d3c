// The one command registry of the `yubin` CLI and the serial console. A station that brings
// commands adds them to `commands` below; help, usage errors and exit codes come for free.
import { ConfigError } from '../../src/config/store.ts';
import { configCommand, setCommand, commitCommand, discardCommand } from './config.ts';
import { userCommand, domainCommand, aliasCommand } from './accounts.ts';
import { showCommand } from './show.ts';
import { alertCommand } from './alert.ts';
import { checkCommand } from './check.ts';
import { restartCommand, shutdownCommand, rebootCommand } from './power.ts';
import { passwdCommand, logoutCommand, adminCommand } from './console-session.ts';
import { queueCommand } from './queue.ts';
import { archiveCommand } from './archive.ts';
import { quarantineCommand, dkimCommand } from './mailsec.ts';
import { Cancelled } from './secrets.ts';
import { startCommand } from './start.ts';
import { backupCommand } from './backup.ts';
import { factoryResetCommand } from './reset.ts';
import { upgradeCommand } from './upgrade.ts';
import { traceCommand } from './trace.ts';
import { dnsCommand } from './dns.ts';
import { setupCommand } from './setup.ts';
import { acmeCommand } from './acme.ts';
import { mtastsCommand } from './mtasts.ts';
import { tlsrptCommand } from './tlsrpt.ts';
import { UsageError, EXIT, type Command, type CommandEnv, type Surface } from './types.ts';

export type { Command, CommandEnv, CommandHooks, CheckHook, Writer, Surface, PromptOptions } from './types.ts';
export { splitWords } from './words.ts';

const helpCommand: Command = {
  name: 'help',
  summary: 'list commands, or explain one: help CMD [SUB]',
  usage: 'help [CMD [SUB]]',
  run(args, env) {
    if (args.length === 0) {
      env.out.write('commands:\n');
      for (const c of visible(commands, env.surface)) env.out.write(`  ${c.name.padEnd(10)} ${c.summary}${boardMark(c, env.surface)}\n`);
      env.out.write("'help CMD' explains one.\n");
      if (env.surface === 'cli') env.out.write(`${BOARD_NOTE}\n`);
      return EXIT.ok;
    }
    const found = resolve(args, env.surface);
    if (!found || found.rest.length > 0) throw new UsageError(`help: no command ${JSON.stringify(args.join(' '))}; 'help' lists them`);
    env.out.write(describe(found.command, found.path, env.surface));
    return EXIT.ok;
  },
};

/** Every command, in the order `help` lists them. Add new commands here. */
export const commands: Command[] = [
  helpCommand,
  startCommand,
  setupCommand,
  showCommand,
  setCommand,
  commitCommand,
  discardCommand,
  configCommand,
  userCommand,
  domainCommand,
  aliasCommand,
  alertCommand,
  checkCommand,
  restartCommand,
  shutdownCommand,
  rebootCommand,
  passwdCommand,
  adminCommand,
  logoutCommand,
  queueCommand,
  traceCommand,
  archiveCommand,
  quarantineCommand,
  dkimCommand,
  backupCommand,
  factoryResetCommand,
  upgradeCommand,
  dnsCommand,
  acmeCommand,
  mtastsCommand,
  tlsrptCommand,
];

const ALIASES: Record<string, string> = { exit: 'logout', quit: 'logout', '?': 'help' };

function visible(list: readonly Command[], surface: Surface): Command[] {
  return list.filter((c) => !c.surfaces || c.surfaces.includes(surface));
}

const BOARD_NOTE = "[board]: needs the running firmware (yubin start); from another terminal the CLI runs every command there, through DATA/control.sock";

/** On the CLI, which commands need a running board: "[board]", or "[board: some]" for a parent. */
function boardMark(c: Command, surface: Surface): string {
  if (surface !== 'cli') return '';
  if (c.board) return '  [board]';
  return c.subcommands?.some((s) => s.board) ? '  [board: some]' : '';
}

function describe(c: Command, path: string, surface: Surface = 'cli'): string {
  const lines = [`${path}: ${c.summary}${boardMark(c, surface)}`];
  if (c.subcommands) for (const s of c.subcommands) lines.push(`  ${(s.usage ?? `${path} ${s.name}`).padEnd(40)} ${s.summary}${boardMark(s, surface)}`);
  else lines.push(`usage: ${c.usage ?? path}`);
  return lines.join('\n') + '\n';
}

/** Whether a command line must run in the calling process (it streams to that process's stdout). */
export function runsHere(words: readonly string[]): boolean {
  const found = resolve(words, 'cli');
  return found?.command.here?.(found.rest) ?? false;
}

/** Walk words down the command tree: the deepest command named, and the words left over. */
function resolve(words: readonly string[], surface: Surface): { command: Command; path: string; rest: string[] } | undefined {
  const [first, ...rest] = words;
  if (first === undefined) return undefined;
  const name = ALIASES[first] ?? first;
  let command = commands.find((c) => c.name === name);
  if (!command) return undefined;
  if (command.surfaces && !command.surfaces.includes(surface)) return undefined;
  let path = command.name;
  while (command.subcommands && rest.length > 0) {
    const sub: Command | undefined = command.subcommands.find((s) => s.name === rest[0]);
    if (!sub) break;
    rest.shift();
    command = sub;
    path += ` ${sub.name}`;
  }
  return { command, path, rest };
}

/** Run one command line; returns the exit code (0 ok, 1 failed, 2 bad usage or value). */
export async function runCommand(words: string[], env: CommandEnv): Promise<number> {
  if (words.length === 0) return EXIT.ok;
  const found = resolve(words, env.surface);
  if (!found) {
    const onlyConsole = commands.some((c) => c.name === words[0] && c.surfaces && !c.surfaces.includes(env.surface));
    env.err.write(
      onlyConsole
        ? `${words[0]}: a console command${words[0] === 'set' ? "; here use 'config set KEY VALUE'" : ''}\n`
        : `${words[0]}: unknown command; 'help' lists them\n`,
    );
    return EXIT.usage;
  }
  const { command, path, rest } = found;
  if (rest[0] === '--help' || rest[0] === '-h' || (command.subcommands && rest[0] === 'help')) {
    env.out.write(describe(command, path, env.surface));
    return EXIT.ok;
  }
  if (command.board && env.surface === 'cli' && env.onBoard === false) {
    env.err.write(`${path}: needs the running board, and none answers on ${env.ctx.dataDir}/control.sock: start it with 'yubin start' (npm start), then run this again\n`);
    return EXIT.failed;
  }
  if (!command.run) {
    env.err.write(rest.length > 0 ? `${path} ${rest[0]}: unknown subcommand\n` : '');
    env.err.write(describe(command, path, env.surface).replace(/^[^\n]*\n/, `usage:\n`));
    return EXIT.usage;
  }
  try {
    return await command.run(rest, env);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      env.err.write(`${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof Cancelled) {
      env.err.write(`${path}: cancelled\n`);
      return EXIT.failed;
    }
    env.err.write(`${path}: ${(err as Error).message}\n`);
    return EXIT.failed;
  }
}
