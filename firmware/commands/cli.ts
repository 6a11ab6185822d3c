// The `yubin` CLI side of the command language: a Context on the data folder, prompts on the
// terminal (no echo for secrets), output to stdout/stderr, and the exit code of the command.
import { ConfigStore } from '../../src/config/store.ts';
import { type Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { createContext } from '../context.ts';
import { LineReader } from '../console/line-reader.ts';
import { runCommand, runsHere, type CommandEnv, type CommandHooks } from './index.ts';
import { runOnBoard } from '../control-socket.ts';

export interface CliOptions {
  dataDir: string;
  /** Hooks, or a function making them from the CLI's context (checks need the configured resolver). */
  hooks?: CommandHooks | ((ctx: Context) => CommandHooks);
}

/** Prompt on the process's terminal: raw mode so a secret is never echoed; a pipe just gives lines. */
export function terminalPrompt(): CommandEnv['prompt'] {
  let reader: LineReader | undefined;
  return async (question, options) => {
    const stdin = process.stdin;
    const tty = stdin.isTTY === true;
    reader ??= new LineReader(stdin, { write: (s) => process.stderr.write(s) }, { echo: tty });
    process.stderr.write(question);
    if (tty) stdin.setRawMode(true);
    stdin.resume();
    try {
      const r = await reader.read({ secret: options?.secret ?? false });
      if ('line' in r && r.cancelled && options?.interruptible) return null;
      return 'line' in r ? r.line : null;
    } finally {
      if (tty) stdin.setRawMode(false);
      stdin.pause();
    }
  };
}

/**
 * Run one command line: on the running firmware when one answers on the data folder's control
 * socket (the same output as its console), else here on the data folder alone.
 */
export async function runCli(argv: string[], options: CliOptions): Promise<number> {
  const words = argv.length === 0 ? ['help'] : argv;
  const out = { write: (s: string) => void process.stdout.write(s) };
  const err = { write: (s: string) => void process.stderr.write(s) };
  const prompt = terminalPrompt();
  if (!runsHere(words)) {
    const code = await runOnBoard(options.dataDir, words, { out, err, prompt });
    if (code !== null) return code;
  }
  const store = await ConfigStore.open(options.dataDir);
  try {
    const ctx: Context = createContext(options.dataDir, store, stderrLogger('warn'));
    return await runCommand(words, {
      ctx,
      surface: 'cli',
      onBoard: false,
      out,
      err,
      prompt,
      hooks: typeof options.hooks === 'function' ? options.hooks(ctx) : (options.hooks ?? {}),
    });
  } finally {
    store.close();
  }
}
