// The control socket: DATA/control.sock, a Unix socket only the owner may open (mode 0600, in the
// data folder, itself 0700). The `yubin` CLI runs its commands through it against the running
// firmware — `show status` of the board, `show queue|alerts|firewall`, `alert ack`, `restart` —
// with the same output as on the console; when nothing answers there the CLI works on the data
// folder alone. One JSON object per line each way:
//   CLI → board:  {"argv": [...], "cwd": "/home/admin"}   then {"answer": "..." | null} per prompt
//   board → CLI:  {"out": "text"} {"err": "text"} {"prompt": "New password: ", "secret": true} {"exit": 0}
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmod, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Context, Service } from '../src/context.ts';
import { runCommand, type CommandHooks, type Writer, type PromptOptions } from './commands/index.ts';

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, 'control.sock');
}

/** Longest request line: an argv, a cwd or an answer to a prompt. */
const MAX_LINE = 64 * 1024;

type Frame = { out: string } | { err: string } | { prompt: string; secret: boolean } | { exit: number };

/** Is something answering on the socket? (A socket file left by a killed firmware is not.) */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function createControlService(ctx: Context, hooks: CommandHooks): Service {
  const path = controlSocketPath(ctx.dataDir);
  let server: Server | undefined;

  const serve = (socket: Socket) => {
    socket.setEncoding('utf8');
    const send = (frame: Frame) => {
      if (!socket.destroyed) socket.write(JSON.stringify(frame) + '\n');
    };
    const lines = createInterface({ input: socket, crlfDelay: Infinity });
    lines.on('error', () => undefined); // the socket's own 'error' ends the command (below)
    let waiting: ((answer: string | null) => void) | undefined;
    let started = false;
    const ended = () => {
      waiting?.(null);
      waiting = undefined;
    };
    socket.on('close', ended);
    socket.on('error', ended);
    lines.on('line', (line) => {
      if (line.length > MAX_LINE) return socket.destroy();
      let message: { argv?: unknown; cwd?: unknown; answer?: unknown };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        return socket.destroy();
      }
      if (!started) {
        started = true;
        const argv = Array.isArray(message.argv) && message.argv.every((a) => typeof a === 'string') ? (message.argv as string[]) : null;
        if (!argv) return socket.destroy();
        void run(argv, typeof message.cwd === 'string' ? message.cwd : undefined);
        return;
      }
      const answer = typeof message.answer === 'string' ? message.answer : null;
      const w = waiting;
      waiting = undefined;
      w?.(answer);
    });
    const writer = (kind: 'out' | 'err'): Writer => ({ write: (text) => send(kind === 'out' ? { out: text } : { err: text }) });
    const run = async (argv: string[], cwd: string | undefined) => {
      const code = await runCommand(argv, {
        ctx,
        surface: 'cli',
        onBoard: true,
        out: writer('out'),
        err: writer('err'),
        hooks,
        ...(cwd ? { cwd } : {}),
        prompt: (question: string, options?: PromptOptions) =>
          new Promise<string | null>((resolve) => {
            if (socket.destroyed) return resolve(null);
            waiting = resolve;
            send({ prompt: question, secret: options?.secret ?? false });
          }),
      });
      send({ exit: code });
      socket.end();
    };
  };

  return {
    name: 'control',
    async start() {
      // Two firmwares on one data folder would share a spool: refuse to take the other's socket.
      if (await answers(path)) throw new Error(`another Yubin already answers on ${path}`);
      await unlink(path).catch(() => undefined);
      const s = createServer(serve);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(path, () => {
          s.off('error', reject);
          resolve();
        });
      });
      await chmod(path, 0o600);
      server = s;
    },
    async stop() {
      // Commands already running finish (a `restart` answers through the old connection).
      server?.close();
      server = undefined;
      await unlink(path).catch(() => undefined);
    },
  };
}

export interface BoardIo {
  out: Writer;
  err: Writer;
  prompt(question: string, options?: PromptOptions): Promise<string | null>;
}

/**
 * Run a command line on the running firmware: its exit code, or null when no firmware answers on
 * the data folder's socket (the CLI then runs the command itself).
 */
export function runOnBoard(dataDir: string, argv: readonly string[], io: BoardIo): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = createConnection(controlSocketPath(dataDir));
    let connected = false;
    let exit: number | undefined;
    socket.setEncoding('utf8');
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (!connected) return resolve(null);
      io.err.write(`yubin: the board's control socket failed: ${err.message}\n`);
    });
    socket.once('connect', () => {
      connected = true;
      socket.write(JSON.stringify({ argv, cwd: process.cwd() }) + '\n');
      const lines = createInterface({ input: socket, crlfDelay: Infinity });
      lines.on('error', () => undefined); // reported by the socket's handler above
      lines.on('line', onLine);
    });
    const onLine = (line: string) => {
      let frame: Partial<{ out: string; err: string; prompt: string; secret: boolean; exit: number }>;
      try {
        frame = JSON.parse(line) as typeof frame;
      } catch {
        return;
      }
      if (frame.out !== undefined) io.out.write(frame.out);
      else if (frame.err !== undefined) io.err.write(frame.err);
      else if (frame.prompt !== undefined) {
        void io.prompt(frame.prompt, { secret: frame.secret === true }).then((answer) => {
          if (!socket.destroyed) socket.write(JSON.stringify({ answer }) + '\n');
        });
      } else if (frame.exit !== undefined) exit = frame.exit;
    };
    socket.once('close', () => {
      if (!connected) return;
      if (exit === undefined) io.err.write('yubin: the board closed the control socket before the command finished\n');
      resolve(exit ?? 1);
    });
  });
}
