// The firmware's logger: one logfmt line per record (docs/LOGGING.md), with a level, a message and
// key=value fields. Every station logs through the one `Logger` interface it finds in ctx.log;
// where the lines go (stderr, the rotating file in the data folder, journald) is the firmware's
// choice (firmware/logging.ts), made once with sinks.
//
//   time=2025-06-01T10:00:00.123Z level=info msg="queue recovered" entries=0
//
// A value is written bare when it is a number, a boolean, or a string of printable characters
// without space, quote, backslash or '='; else as a JSON string (quotes, \" and \n escapes).
// Arrays are joined with ','. parseLogfmt reads a line back into its fields.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

/** One record as the sinks get it. */
export interface LogRecord {
  time: Date;
  level: LogLevel;
  message: string;
  fields: Record<string, unknown> | undefined;
}

/** Somewhere records go; each sink has its own lowest level (read at every record: levels are live). */
export interface LogSink {
  minimum(): LogLevel;
  write(record: LogRecord): void;
}

export function atLeast(level: LogLevel, minimum: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(minimum);
}

const BARE = /^[^\s"=\\\x00-\x1f\x7f]+$/;

/** One value as logfmt writes it. */
export function logfmtValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return '""';
  if (value instanceof Error) return JSON.stringify(value.message);
  if (value instanceof Date) return value.toISOString();
  let text: string;
  if (Array.isArray(value)) text = value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',');
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  return BARE.test(text) ? text : JSON.stringify(text);
}

/** The record as one line (no newline). `time: false` leaves the time out (journald keeps its own). */
export function formatRecord(record: LogRecord, options: { time?: boolean } = {}): string {
  const parts: string[] = [];
  if (options.time !== false) parts.push(`time=${record.time.toISOString()}`);
  parts.push(`level=${record.level}`, `msg=${logfmtValue(record.message)}`);
  if (record.fields) {
    for (const [key, value] of Object.entries(record.fields)) {
      if (value === undefined) continue;
      parts.push(`${key}=${logfmtValue(value)}`);
    }
  }
  return parts.join(' ');
}

/** A logfmt line back into its fields (values as text); what tests and `grep`-minded tools read. */
export function parseLogfmt(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)/g;
  for (const m of line.matchAll(re)) {
    const raw = m[2]!;
    out[m[1]!] = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
  }
  return out;
}

/** A logger over sinks; a sink that throws (a full disk under the log file) never reaches the caller. */
export function createLogger(sinks: readonly LogSink[]): Logger {
  return {
    log(level, message, fields) {
      let record: LogRecord | undefined;
      for (const sink of sinks) {
        if (!atLeast(level, sink.minimum())) continue;
        record ??= { time: new Date(), level, message, fields };
        try {
          sink.write(record);
        } catch {
          // Logging must never fail mail; the sink itself reports what it can (file-sink.ts).
        }
      }
    },
  };
}

/** Logger writing logfmt lines to stderr from `minimum` up (tests, the CLI). */
export function stderrLogger(minimum: LogLevel = 'info'): Logger {
  return createLogger([{ minimum: () => minimum, write: (r) => void process.stderr.write(formatRecord(r) + '\n') }]);
}

/** The same logger with `fields` on every line (a message's queue ID and session); the caller's own fields win. */
export function withFields(log: Logger, fields: Record<string, unknown>): Logger {
  return {
    log(level, message, more) {
      log.log(level, message, more ? { ...fields, ...more } : fields);
    },
  };
}
