// The one fuzz runner: a target is a fast-check arbitrary of structured cases plus a runner that
// checks one case against the real code. Every case runs with a time bound and with the process's
// unhandled-rejection and uncaught-exception events watched (either would kill the firmware); a
// failing case is shrunk by fast-check and reported with the seed and path that replay it.
import fc from 'fast-check';

export interface Runner<T> {
  /** Check one case; throw (or reject) when the property does not hold. */
  check(value: T): Promise<void> | void;
  /** Checks over the whole run (still serving, bounded memory): the problems found, if any. */
  finish?(): Promise<string[]>;
  close(): Promise<void>;
  /** The bytes a counterexample stands for (a rendered message, a session), saved beside the report. */
  render?(value: T): Promise<Buffer> | Buffer;
}

export interface Target<T> {
  readonly name: string;
  /** What the target's property says, one line, for reports. */
  readonly property: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Longest a case may take. */
  readonly caseTimeoutMs: number;
  open(): Promise<Runner<T>>;
}

export interface RunOptions {
  cases: number;
  seed: number;
  /** Replay one counterexample (fast-check's path, as a failure report prints it). */
  path?: string;
  /** Stop shrinking after this long (ms) and report the smallest failure found so far. */
  shrinkBudgetMs?: number;
  progress?: (line: string) => void;
  /** Failures already reported and being fixed: a case whose failure message matches this passes
   * and is counted in `known`, so the run goes on looking for other bugs (a crude filter: use a
   * pattern only the known bug produces). */
  known?: RegExp;
}

export interface Failure {
  seed: number;
  path: string;
  /** fast-check's printout of the shrunk case (specs, not rendered bytes), cut at 4000 characters. */
  counterexample: string;
  error: string;
  shrinks: number;
  /** What the counterexample renders to, when the target can say. */
  rendered?: Buffer;
}

export interface RunReport {
  target: string;
  cases: number;
  seconds: number;
  casesPerSecond: number;
  /** Cases that failed only as RunOptions.known says. */
  known: number;
  failure: Failure | null;
  /** From the whole-run checks, and stray errors no case could be blamed for. */
  problems: string[];
}

/** Collects unhandled rejections and uncaught exceptions while installed (a listener keeps node alive). */
export class StrayErrors {
  #seen: string[] = [];
  readonly #onRejection = (reason: unknown) => this.#seen.push(`unhandled rejection: ${describe(reason)}`);
  readonly #onException = (err: unknown) => this.#seen.push(`uncaught exception: ${describe(err)}`);

  install(): void {
    process.on('unhandledRejection', this.#onRejection);
    process.on('uncaughtException', this.#onException);
  }

  uninstall(): void {
    process.off('unhandledRejection', this.#onRejection);
    process.off('uncaughtException', this.#onException);
  }

  take(): string[] {
    return this.#seen.splice(0);
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return `${value.name}${code ? ` ${code}` : ''}: ${value.message}\n${(value.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  }
  return String(value);
}

/** Let rejections of promises a case dropped surface: node reports them after the microtasks of a turn. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 1));
}

/** A failure is known when its message names the known cause (wire targets wrap it in stderr). */
function isKnown(message: string, known: RegExp): boolean {
  return known.test(message);
}

function bounded<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the case took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export async function runTarget<T>(target: Target<T>, o: RunOptions): Promise<RunReport> {
  const say = o.progress ?? (() => undefined);
  const strays = new StrayErrors();
  strays.install();
  const runner = await target.open();
  const problems: string[] = [];
  let ran = 0;
  let known = 0;
  let firstFailureAt = 0;
  const budget = o.shrinkBudgetMs ?? 120_000;
  const started = Date.now();
  try {
    const property = fc.asyncProperty(target.arbitrary, async (value) => {
      // Past the shrink budget every candidate passes at once: fast-check keeps the smallest failure.
      if (firstFailureAt > 0 && Date.now() - firstFailureAt > budget) return;
      ran++;
      if (firstFailureAt === 0 && ran % 200 === 0) say(`${target.name}: ${ran} cases, ${Math.round(ran / ((Date.now() - started) / 1000))}/s`);
      const before = strays.take();
      if (before.length > 0) problems.push(`between cases: ${before.join('\n')}`);
      try {
        const pending = runner.check(value);
        // A synchronous check leaves nothing behind to settle (thousands of cases a second).
        if (pending instanceof Promise) {
          await bounded(pending, target.caseTimeoutMs);
          await settle();
        }
        const during = strays.take();
        if (during.length > 0) throw new Error(during.join('\n'));
      } catch (err) {
        if (o.known && isKnown((err as Error).message ?? String(err), o.known)) {
          known++;
          return;
        }
        if (firstFailureAt === 0) {
          firstFailureAt = Date.now();
          say(`${target.name}: case ${ran} failed, shrinking: ${(err as Error).message.split('\n')[0]}`);
        }
        throw err;
      }
    });
    const details = await fc.check(property, {
      numRuns: o.cases,
      seed: o.seed,
      ...(o.path ? { path: o.path } : {}),
      endOnFailure: false,
    });
    const seconds = (Date.now() - started) / 1000;
    let failure: Failure | null = null;
    if (details.failed && details.counterexample) {
      const value = details.counterexample[0] as T;
      const rendered = runner.render ? await Promise.resolve(runner.render(value)).catch(() => undefined) : undefined;
      failure = {
        seed: details.seed,
        path: details.counterexamplePath ?? '',
        counterexample: fc.stringify(value).slice(0, 4000),
        error: describe(details.errorInstance).slice(0, 3000),
        shrinks: details.numShrinks,
        ...(rendered ? { rendered } : {}),
      };
    }
    problems.push(...((await runner.finish?.()) ?? []));
    await settle();
    const after = strays.take();
    if (after.length > 0) problems.push(`after the run: ${after.join('\n')}`);
    const cases = failure ? details.numRuns : o.cases;
    return { target: target.name, cases, seconds, casesPerSecond: Math.round(cases / Math.max(seconds, 0.001)), known, failure, problems };
  } finally {
    await runner.close();
    strays.uninstall();
  }
}
