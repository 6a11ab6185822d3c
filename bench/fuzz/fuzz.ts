// The fuzz run: Yubin as a child process, fuzz cases against its SMTP and POP3 listeners from many
// 127.0.0.x addresses at once, and console lines into a second child's console on stdio. After
// every batch the children must still be running with no crash or unhandled rejection on stderr;
// RSS is sampled throughout; at the end a normal message must still be accepted.
import { connect } from 'node:net';
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { seed, startChild, BASE_SETTINGS, type ChildFirmware } from '../../test/support/firmware.ts';
import { sendMessage } from '../../test/faults/fixtures/mail.ts';
import { Random } from './random.ts';
import { smtpCase, pop3Case, consoleLine, type FuzzCase } from './grammar.ts';

export interface FuzzOptions {
  /** Total cases; about 45 % SMTP, 45 % POP3, 10 % console lines. */
  cases: number;
  seed: number;
  /** Connections in flight at once. */
  concurrency?: number;
  /** An empty folder for the two children's data. */
  workDir: string;
  progress?: (line: string) => void;
  /** Fuzz one surface only (to find which one a problem comes from). */
  only?: 'smtp' | 'pop3' | 'console';
}

export interface FuzzReport {
  cases: { smtp: number; pop3: number; console: number };
  seconds: number;
  casesPerSecond: number;
  /** KiB. */
  rss: { start: number; peak: number; end: number };
  /** Empty when nothing went wrong. */
  problems: string[];
}

const CRASH = /Unhandled|uncaught|triggerUncaughtException|Node\.js v\d+|FATAL ERROR|exit code=/i;

import { rssKiB } from '../../test/support/rss.ts';
export { rssKiB };

/** Settings that let the fuzzer in: limits raised so that its own traffic is not what stops it. */
export const FUZZ_SETTINGS = {
  ...BASE_SETTINGS,
  'senderauth.enabled': false,
  'smtp.greetingDelay': 0,
  'smtp.maxConnections': 2000,
  'smtp.maxConnectionsPerClient': 200,
  'smtp.socketTimeout': 30,
  'pop3.allowCleartext': true,
  'login.delayMs': 0,
  'pop3.maxSessions': 2000,
  'pop3.maxSessionsPerClient': 200,
  'login.pairFailures': 1000,
  'login.sourceFailures': 1000,
};

const ALICE = [{ name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] }];

/** Play one case on a fresh connection; every wait bounded. */
export function play(port: number, local: string, c: FuzzCase): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: local });
    let wake: (() => void) | null = null;
    let closed = false;
    const hard = setTimeout(() => socket.destroy(), 15_000);
    socket.on('data', () => wake?.());
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      clearTimeout(hard);
      wake?.();
      resolve();
    });
    const wait = (ms: number) =>
      new Promise<void>((r) => {
        const timer = setTimeout(() => {
          wake = null;
          r();
        }, ms);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          r();
        };
      });
    socket.once('connect', async () => {
      for (const step of c.steps) {
        if (closed) return;
        if (step.kind === 'send') socket.write(step.bytes);
        else if (step.kind === 'read') await wait(300);
        else await new Promise((r) => setTimeout(r, step.ms));
      }
      if (c.close === 'destroy') return socket.destroy();
      socket.end();
      await wait(1000);
      socket.destroy();
    });
  });
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const problems: string[] = [];
  const say = o.progress ?? (() => undefined);
  const mailDir = join(o.workDir, 'mail-fw');
  const consoleDir = join(o.workDir, 'console-fw');
  await mkdir(mailDir, { recursive: true });
  await mkdir(consoleDir, { recursive: true });
  await seed(mailDir, FUZZ_SETTINGS, ALICE);
  await seed(consoleDir, FUZZ_SETTINGS, ALICE);
  const mail = await startChild(mailDir);
  const cons = await startChild(consoleDir, [], 20_000, { stdin: true });
  // Start from what the child already wrote: the first prompt may share a read with the ready line.
  let consoleOut = cons.stdout();
  let consoleBytes = consoleOut.length;
  cons.child.stdout!.on('data', (d: Buffer) => {
    consoleBytes += d.length;
    consoleOut = (consoleOut + d.toString('latin1')).slice(-8000);
  });
  cons.child.stdin!.on('error', () => undefined);
  try {
    const smtp = mail.ports.smtp!;
    const pop3 = mail.ports.pop3!;
    // Something in the maildrop, so RETR, TOP and DELE have messages to work on.
    for (let i = 0; i < 3; i++) await sendMessage({ port: smtp, message: `Subject: seed ${i}\r\n\r\nhello ${i}\r\n` });

    const rss = { start: await rssKiB(mail.child.pid!), peak: 0, end: 0 };
    const sampler = setInterval(() => void rssKiB(mail.child.pid!).then((k) => (rss.peak = Math.max(rss.peak, k))), 200);

    // The console: first boot asks for an admin password (twice), then the command language.
    const typeLine = (text: string) => cons.child.stdin!.write(text + '\n');
    await waitFor(() => /choose one/i.test(consoleOut), 10_000, 'the console to ask for a password');
    typeLine('fuzz-admin-password');
    typeLine('fuzz-admin-password');
    await waitFor(() => /Logged in/.test(consoleOut), 10_000, 'the console login');

    const counts = { smtp: 0, pop3: 0, console: 0 };
    const started = Date.now();
    let next = 0;
    const concurrency = o.concurrency ?? 16;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= o.cases) return;
        const r = new Random(o.seed * 1_000_003 + i);
        const local = `127.0.${1 + (i % 3)}.${10 + (i % 200)}`;
        const which = o.only === 'console' ? 0 : o.only === 'smtp' ? 5 : o.only === 'pop3' ? 15 : i % 20;
        if (which < 2) {
          counts.console++;
          typeLine(consoleLine(r));
          if (i % 40 === 0) await waitFor(() => consoleOut.endsWith('> ') || consoleOut.endsWith(': '), 2000, '').catch(() => undefined);
        } else if (which < 11) {
          counts.smtp++;
          await play(smtp, local, smtpCase(r));
        } else {
          counts.pop3++;
          await play(pop3, local, pop3Case(r));
        }
        if (i % 500 === 0) {
          say(`${i} cases, ${Math.round(i / ((Date.now() - started) / 1000))}/s, rss ${Math.round(rss.peak / 1024)} MiB peak`);
          checkAlive(mail, 'mail firmware', problems);
          checkAlive(cons, 'console firmware', problems);
          if (problems.length > 0) return;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const seconds = (Date.now() - started) / 1000;
    clearInterval(sampler);

    checkAlive(mail, 'mail firmware', problems);
    checkAlive(cons, 'console firmware', problems);
    // Still serving: a normal message is accepted, the console still answers.
    const reply = await sendMessage({ port: smtp, local: '127.0.0.250', message: 'Subject: after the fuzz\r\n\r\nstill here\r\n', timeoutMs: 10_000 }).catch((e: Error) => e.message);
    if (!reply.startsWith('250')) problems.push(`a normal message after the fuzz got: ${reply}`);
    const before = consoleBytes;
    typeLine('');
    typeLine('help');
    await waitFor(() => consoleBytes > before, 5000, '').catch(() => problems.push(`the console stopped answering; its last output: ${JSON.stringify(consoleOut.slice(-600))}`));
    rss.end = await rssKiB(mail.child.pid!);
    return { cases: counts, seconds, casesPerSecond: Math.round(o.cases / seconds), rss, problems };
  } finally {
    mail.child.kill('SIGKILL');
    cons.child.kill('SIGKILL');
    await Promise.all([mail.exited, cons.exited]);
  }
}

function checkAlive(fw: ChildFirmware, name: string, problems: string[]): void {
  if (fw.child.exitCode !== null || fw.child.signalCode !== null) problems.push(`${name} exited: ${fw.stderr().slice(-1500)}`);
  else if (CRASH.test(fw.stderr())) problems.push(`${name} stderr: ${fw.stderr().slice(-1500)}`);
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
