// Child processes for the image build: one helper so every failure names the command that failed.
import { spawn, type SpawnOptions } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Feed this text on stdin. */
  input?: string;
  /** Show the tool's output live (long steps: mmdebstrap, node-gyp) instead of capturing it. */
  inherit?: boolean;
}

export class CommandError extends Error {
  readonly command: string;
  readonly output: string;
  constructor(command: string, code: number | null, output: string) {
    // The tail of the output is what tells why; the head is usually banner noise.
    super(`${command} failed (exit ${code ?? 'signal'})${output ? ':\n' + output.slice(-4000) : ''}`);
    this.command = command;
    this.output = output;
  }
}

/** Run a command to completion; resolves with its stdout, rejects with a CommandError. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const spawnOptions: SpawnOptions = {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', options.inherit ? 'inherit' : 'pipe', options.inherit ? 'inherit' : 'pipe'],
  };
  const child = spawn(cmd, args, spawnOptions);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  if (options.input !== undefined) child.stdin?.end(options.input);
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new CommandError(`${cmd} ${args.join(' ')}`, null, e.message)));
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString();
      if (code === 0) resolve(stdout);
      else reject(new CommandError(`${cmd} ${args.join(' ')}`, code, stdout + Buffer.concat(err).toString()));
    });
  });
}

/** Seconds since `start` (from performance.now()), one decimal, for the figures the build prints. */
export function secondsSince(start: number): string {
  return ((performance.now() - start) / 1000).toFixed(1);
}
