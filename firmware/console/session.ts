// One console on one stream: banner, admin login (first boot: choose the password), then the
// command language until logout, Ctrl-D or idle time; then the login again, until the stream ends.
import type { Readable, Writable } from 'node:stream';
import type { Context } from '../../src/context.ts';
import { runCommand, splitWords, type CommandEnv, type CommandHooks, type Writer } from '../commands/index.ts';
import { setupOrCancel } from '../commands/setup.ts';
import { LineReader, type ReadResult } from './line-reader.ts';
import { LoginGuard } from './login-guard.ts';
import type { LoginThrottle } from '../../src/anvil/login-throttle.ts';
import { hasAdminPassword, checkAdminPassword } from './admin.ts';

export interface ConsoleIo {
  input: Readable;
  output: Writable;
  /** Where the console is, for logs and auth.failed events: a device path or "stdio". */
  name: string;
  /** Echo typed keys (true for a serial line or a raw tty; false for a pipe). */
  echo?: boolean;
}

export interface ConsoleRun {
  /** Resolves when the stream has ended or close() was called. */
  readonly done: Promise<void>;
  close(): void;
  /** The prompt being answered and what has been typed at it ('' when none): drawn again after a log line. */
  redraw(): string;
}

const MAX_LINE = 1024;

/** The raw-mode stdio console gets no SIGINT from Ctrl-C: say what stops the appliance. */
const STOP_HINT = `Ctrl-C only clears the line here. To stop Yubin: log in and type 'shutdown', or run kill ${process.pid} from another terminal.\n`;

/** Terminals on a serial line need CR LF; commands write LF. */
function crlfWriter(output: Writable): Writer {
  return {
    write(text) {
      if (!output.writable) return;
      output.write(text.replace(/\r?\n/g, '\r\n'));
    },
  };
}

export function createLoginGuard(ctx: Context, throttle?: LoginThrottle, consoleName = 'console'): LoginGuard {
  return new LoginGuard({
    maxFailures: () => ctx.store.get('console.maxFailures'),
    lockoutSeconds: () => ctx.store.get('console.lockoutSeconds'),
  }, Date.now, throttle, consoleName);
}

export function runConsole(ctx: Context, hooks: CommandHooks, io: ConsoleIo, guard: LoginGuard): ConsoleRun {
  const out = crlfWriter(io.output);
  const reader = new LineReader(io.input, out, { maxLine: MAX_LINE, echo: io.echo ?? true });
  let closed = false;
  let wake: (() => void) | undefined;
  const idleMs = () => ctx.store.get('console.idleSeconds') * 1000;

  /** A pause that ends early when the console closes. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  let asking = '';
  const promptLine = async (question: string, secret: boolean, idle: boolean): Promise<ReadResult> => {
    out.write(question);
    asking = question;
    return reader.read({ secret, ...(idle ? { idleMs: idleMs() } : {}) });
  };

  const env = (onLogout: () => void): CommandEnv => ({
    ctx,
    surface: 'console',
    out,
    err: out,
    hooks,
    logout: onLogout,
    async prompt(question, options) {
      const r = await promptLine(question, options?.secret ?? false, true);
      if ('line' in r && r.cancelled && options?.interruptible) return null;
      return 'line' in r ? r.line : null;
    },
  });

  /** true: logged in; false: try again; 'closed': the stream is gone. */
  async function login(): Promise<boolean | 'closed'> {
    const locked = guard.lockedFor();
    if (locked > 0) {
      out.write(`console locked after too many wrong passwords; try again in ${Math.ceil(locked / 1000)} s\n`);
      const r = await reader.read({ secret: true, idleMs: locked });
      return 'end' in r && r.end === 'closed' ? 'closed' : false;
    }
    if (!hasAdminPassword(ctx)) {
      // First boot: the setup wizard, admin password first. Cancelled, it wrote nothing: start over.
      out.write('No admin password is set yet: first-boot setup.\n');
      const done = await setupOrCancel(env(() => undefined));
      if (closed || reader.closed) return 'closed';
      return done && hasAdminPassword(ctx);
    }
    const r = await promptLine('Password: ', true, false);
    if ('end' in r) return r.end === 'closed' ? 'closed' : false;
    if (r.interrupted && io.name === 'stdio') out.write(STOP_HINT);
    if (r.line === '') return false;
    if (await checkAdminPassword(ctx, r.line)) {
      guard.success();
      return true;
    }
    ctx.bus.emit('auth.failed', { service: 'console', client: io.name, user: 'admin' });
    ctx.log.log('warn', 'console login failed', { console: io.name });
    const { delayMs, locked: nowLocked } = guard.failure();
    await sleep(delayMs);
    if (closed) return 'closed';
    out.write(nowLocked ? `Login incorrect; console locked for ${ctx.store.get('console.lockoutSeconds')} s\n` : 'Login incorrect\n');
    return false;
  }

  async function shell(): Promise<'closed' | 'logout'> {
    let loggedOut = false;
    const commandEnv = env(() => (loggedOut = true));
    out.write("Logged in. 'help' lists commands.\n");
    for (;;) {
      const staged = ctx.store.staged().size > 0 ? '*' : '';
      const r = await promptLine(`${ctx.store.get('hostname')}${staged}> `, false, true);
      if ('end' in r) {
        if (r.end === 'closed') return 'closed';
        out.write(r.end === 'idle' ? `\nidle for ${ctx.store.get('console.idleSeconds')} s: logged out\n` : 'logged out\n');
        return 'logout';
      }
      if (r.interrupted && io.name === 'stdio') out.write(STOP_HINT.replace('log in and type', 'type'));
      let words: string[];
      try {
        words = splitWords(r.line);
      } catch (err) {
        out.write(`${(err as Error).message}\n`);
        continue;
      }
      await runCommand(words, commandEnv);
      if (closed) return 'closed';
      if (loggedOut) {
        out.write('logged out\n');
        return 'logout';
      }
    }
  }

  async function loop(): Promise<void> {
    while (!closed) {
      out.write(`\r\nYubin console on ${ctx.store.get('hostname')}\n`);
      const ok = await login();
      if (ok === 'closed' || closed) return;
      if (!ok) continue;
      ctx.log.log('info', 'console login', { console: io.name });
      const how = await shell();
      // Staged settings belong to the admin who typed them; the next login starts clean.
      const staged = ctx.store.staged().size;
      if (staged > 0) {
        ctx.store.discard();
        if (how !== 'closed') out.write(`${staged} staged setting${staged === 1 ? '' : 's'} discarded\n`);
      }
      if (how === 'closed') return;
    }
  }

  const done = loop().catch((err: Error) => ctx.log.log('error', 'console failed', { console: io.name, error: err.message }));
  return {
    done: done.then(() => {
      closed = true;
      reader.close();
    }),
    close() {
      closed = true;
      reader.close();
      wake?.();
    },
    redraw() {
      const typed = reader.typed();
      return typed === null ? '' : asking + typed;
    },
  };
}
