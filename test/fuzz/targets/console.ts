// Target "console": the command language (firmware/commands) as the console runs it. Each line
// goes through splitWords (only a UsageError may come out) and runCommand with a CommandEnv built
// as test/commands builds one (real store, users, alert engine, sender checks against a DNS
// server on loopback): it never throws and exits 0, 1 or 2. The same lines are then typed into a
// console session on a stream (line editing, login, prompts), which must still answer afterwards.
import fc from 'fast-check';
import { PassThrough } from 'node:stream';
import { runCommand, splitWords, type CommandEnv, type CommandHooks } from '../../../firmware/commands/index.ts';
import { UsageError } from '../../../firmware/commands/types.ts';
import { runConsole, createLoginGuard } from '../../../firmware/console/session.ts';
import { setAdminPassword, checkAdminPassword } from '../../../firmware/console/admin.ts';
import { createAlertEngine } from '../../../src/alerts/engine.ts';
import { senderAuthChecks } from '../../../firmware/checks.ts';
import { TestDnsServer } from '../../support/dns-server.ts';
import { consoleLine, answers } from '../gen/console.ts';
import { openContext } from '../context.ts';
import type { Target } from '../harness.ts';

interface ConsoleCase {
  lines: Array<{ line: string; answers: string[] }>;
}

const ADMIN = 'fuzz-admin-password';

export const consoleTarget: Target<ConsoleCase> = {
  name: 'console',
  property: 'splitWords throws only UsageError; runCommand never throws and exits 0, 1 or 2; the console session still answers',
  arbitrary: fc.record({ lines: fc.array(fc.record({ line: consoleLine, answers }), { minLength: 1, maxLength: 6 }) }),
  caseTimeoutMs: 30_000,
  async open() {
    const dns = await new TestDnsServer({}).start();
    const { ctx, close } = await openContext('console', { hostname: 'mx.yubin.test', domains: ['yubin.test'], 'dns.servers': [dns.address], 'dns.timeoutMs': 300, 'console.maxFailures': 100, 'console.lockoutSeconds': 1 });
    const alerts = createAlertEngine(ctx);
    await alerts.start();
    const hooks: CommandHooks = { alerts, checks: senderAuthChecks(ctx) };
    let said = '';
    const env = (replies: string[]): CommandEnv => ({
      ctx,
      surface: 'console',
      out: { write: (s) => void (said = (said + s).slice(-2000)) },
      err: { write: (s) => void (said = (said + s).slice(-2000)) },
      prompt: async () => replies.shift() ?? null,
      hooks,
      logout: () => undefined,
    });

    // One console session for the whole run, as on the serial line.
    const input = new PassThrough();
    const output = new PassThrough();
    let screen = '';
    output.on('data', (d: Buffer) => void (screen = (screen + d.toString('utf8')).slice(-4000)));
    const session = runConsole(ctx, hooks, { input, output, name: 'fuzz', echo: true }, createLoginGuard(ctx));
    const waitFor = async (check: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      return check();
    };
    const prompted = () => /(> |: )$/.test(screen);
    /** Type one line and wait for the next prompt; log in again when the line logged out. */
    const type = async (text: string) => {
      screen = '';
      input.write(text + '\r');
      await waitFor(prompted, 5000);
      if (/Password: $/.test(screen)) {
        // `passwd` may have changed the admin password: the fuzzer sets its own again.
        if (!(await checkAdminPassword(ctx, ADMIN))) await setAdminPassword(ctx, ADMIN);
        screen = '';
        input.write(ADMIN + '\r');
        await waitFor(prompted, 5000);
      }
    };
    await waitFor(() => /choose one/i.test(screen), 5000);
    input.write(`${ADMIN}\r${ADMIN}\r`);
    if (!(await waitFor(() => /Logged in/.test(screen), 10_000))) throw new Error(`console login failed: ${JSON.stringify(screen)}`);

    return {
      render: (c) => Buffer.from(c.lines.map((l) => `${l.line}\n${l.answers.map((a) => `  answer: ${a}\n`).join('')}`).join('')),
      async check(c) {
        for (const { line, answers: replies } of c.lines) {
          let words: string[];
          try {
            words = splitWords(line);
          } catch (err) {
            if (err instanceof UsageError) continue;
            throw new Error(`splitWords threw ${(err as Error).name}: ${(err as Error).message}`);
          }
          let code: number;
          try {
            code = await runCommand(words, env([...replies]));
          } catch (err) {
            throw new Error(`runCommand threw on ${JSON.stringify(line)}: ${(err as Error).stack}`);
          }
          if (![0, 1, 2].includes(code)) throw new Error(`exit code ${code} for ${JSON.stringify(line)}: ${said.slice(-300)}`);
        }
        for (const { line, answers: replies } of c.lines) {
          await type(line);
          for (const a of replies) if (/: $/.test(screen) && !/Password: $/.test(screen)) await type(a);
        }
        // Still answering: a fresh line (Ctrl-U clears a half-typed one), then help.
        await type('\x15');
        screen = '';
        input.write('help\r');
        if (!(await waitFor(() => /commands:/.test(screen) && prompted(), 5000))) throw new Error(`the console stopped answering: ${JSON.stringify(screen.slice(-600))}`);
      },
      async close() {
        session.close();
        await session.done;
        await alerts.stop();
        await close();
        await dns.stop();
      },
    };
  },
};
