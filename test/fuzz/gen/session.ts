// What a client does on one connection, for the SMTP and POP3 targets: lines with their line
// ends, raw bytes, pauses; played one reply at a time or pipelined (all at once), then a QUIT-less
// half close or a reset.
import fc from 'fast-check';

export type Ending = 'crlf' | 'lf' | 'cr' | 'none' | 'crcrlf' | 'lfcr';

export const ENDINGS: Record<Ending, string> = { crlf: '\r\n', lf: '\n', cr: '\r', none: '', crcrlf: '\r\r\n', lfcr: '\n\r' };

/** Mostly CRLF: the odd line ends are the point only now and then. */
export const ending: fc.Arbitrary<Ending> = fc.oneof({ weight: 12, arbitrary: fc.constant('crlf' as const) }, { weight: 1, arbitrary: fc.constantFrom('lf' as const, 'cr' as const, 'none' as const, 'crcrlf' as const, 'lfcr' as const) });

export interface Line {
  kind: 'line';
  text: string;
  ending: Ending;
}

export type Step<Extra = never> = Line | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'pause'; ms: number } | Extra;

export interface Session<S> {
  steps: S[];
  /** Everything in one write, not waiting for replies (RFC 2920, RFC 2449 §6.6). */
  pipelined: boolean;
  close: 'end' | 'destroy';
}

export const line = (text: fc.Arbitrary<string>): fc.Arbitrary<Line> => fc.record({ kind: fc.constant('line' as const), text, ending });

/** Random bytes and an oversized line: steps every protocol target mixes in. */
export const noise: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 4096 }) }),
  fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 1, max: 200 }) }),
);

/** Text with the characters parsers trip on: 8-bit, NUL, quotes, brackets, format characters. */
export const oddText = (maxLength: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('\0', '\x7f', '\xff', '\u00e9', '\u3042', '\u202e', '"', '\\', '<', '>', ':', '@', ' ', '%', '='), maxLength }) },
  );

/** A long argument: over the protocol's line limits and far beyond. */
export const longText = fc.tuple(fc.constantFrom('A', 'x', '\xe9', ' '), fc.oneof(fc.integer({ min: 250, max: 1100 }), fc.integer({ min: 4000, max: 200_000 }))).map(([c, n]) => c.repeat(n));

export const session = <S>(step: fc.Arbitrary<S>, prefix: fc.Arbitrary<S[]>, maxSteps: number): fc.Arbitrary<Session<S>> =>
  fc.record({
    steps: fc.tuple(prefix, fc.array(step, { maxLength: maxSteps })).map(([a, b]) => [...a, ...b]),
    pipelined: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 2, arbitrary: fc.constant(true) }),
    close: fc.oneof({ weight: 7, arbitrary: fc.constant('end' as const) }, { weight: 3, arbitrary: fc.constant('destroy' as const) }),
  });
