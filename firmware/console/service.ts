// The console service: the command language on the serial port (console.device) or, when that
// is empty, on stdin/stdout for development. One session at a time per stream.
import type { Context, Service } from '../../src/context.ts';
import type { CommandHooks } from '../commands/index.ts';
import type { SerialLink } from '../../board/serial/serial-link.ts';
import type { LoginThrottle } from '../../src/anvil/login-throttle.ts';
import { runConsole, createLoginGuard, type ConsoleIo, type ConsoleRun } from './session.ts';
import { holdTerminalLine } from '../../src/log/stderr-sink.ts';

export interface ConsoleStreamOptions {
  /** Run on this stream instead of what console.device says (tests, embedding). */
  stream?: ConsoleIo;
  /** The login brake shared with SMTP AUTH and POP3. */
  throttle?: LoginThrottle;
}

export function createConsoleService(ctx: Context, hooks: CommandHooks = {}, options: ConsoleStreamOptions = {}): Service {
  // One guard for the service's life: reopening the port must not reset the failure count.
  const guard = createLoginGuard(ctx, options.throttle, options.stream?.name ?? (ctx.store.get('console.device') || 'stdio'));
  let run: ConsoleRun | undefined;
  let link: SerialLink | undefined;
  let rawStdin = false;
  let releaseLine: (() => void) | undefined;

  return {
    name: 'console',

    async start() {
      if (options.stream) {
        run = runConsole(ctx, hooks, options.stream, guard);
        return;
      }
      const device = ctx.store.get('console.device');
      if (device === '') {
        const stdin = process.stdin;
        // Raw mode: we echo and edit lines ourselves, the same as on the serial line.
        if (stdin.isTTY) {
          stdin.setRawMode(true);
          rawStdin = true;
        }
        run = runConsole(ctx, hooks, { input: stdin, output: process.stdout, name: 'stdio', echo: stdin.isTTY === true }, guard);
        // Log lines on the same terminal clear the prompt line and draw it again (src/log/stderr-sink.ts).
        const current = run;
        if (stdin.isTTY) releaseLine = holdTerminalLine({ redraw: () => current.redraw() });
        return;
      }
      // serialport (several MiB of RSS) is loaded only for a serial console.
      const { SerialLink } = await import('../../board/serial/serial-link.ts');
      link = new SerialLink({
        path: device,
        baudRate: ctx.store.get('console.baud'),
        log: ctx.log,
        onOpen: (port) => {
          run?.close();
          run = runConsole(ctx, hooks, { input: port, output: port, name: device }, guard);
        },
      });
      await link.start();
    },

    async stop() {
      releaseLine?.();
      releaseLine = undefined;
      run?.close();
      await run?.done;
      run = undefined;
      await link?.stop();
      link = undefined;
      if (rawStdin) {
        process.stdin.setRawMode(false);
        process.stdin.pause();
        rawStdin = false;
      }
    },
  };
}
