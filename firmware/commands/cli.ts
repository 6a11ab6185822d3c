// The `yubin` CLI side of the command language: a Context on the data folder, prompts on the
// terminal (no echo for secrets), output to stdout/stderr, and the exit code of the command.
import { ConfigStore } from '../../src/config/store.ts';
import { type Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { createContext } from '../context.ts';
import { LineReader } from '../console/line-reader.ts';
import { runCommand, type CommandEnv, type CommandHooks } from './index.ts';

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

export async function runCli(argv: string[], options: CliOptions): Promise<number> {
  const store = await ConfigStore.open(options.dataDir);
  try {
    const ctx: Context = createContext(options.dataDir, store, stderrLogger('warn'));
    return await runCommand(argv.length === 0 ? ['help'] : argv, {
      ctx,
      surface: 'cli',
      out: { write: (s) => process.stdout.write(s) },
      err: { write: (s) => process.stderr.write(s) },
      prompt: terminalPrompt(),
      hooks: typeof options.hooks === 'function' ? options.hooks(ctx) : (options.hooks ?? {}),
    });
  } finally {
    store.close();
  }
}
