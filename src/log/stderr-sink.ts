// Log lines on stderr. Under systemd (the board image) stderr is a journald stream: each line gets
// its syslog priority prefix ("<6>"), which journald turns into the entry's PRIORITY (so
// `journalctl -u yubin -p warning` works), and no time of ours (journald keeps its own).
// On a terminal shared with the stdio console, a line never lands in the middle of what the admin
// is typing: the console's line is cleared, the log line written, and the prompt with the typed
// text drawn again (the console lends its line through holdTerminalLine).
import { fstatSync } from 'node:fs';
import { formatRecord, type LogLevel, type LogRecord, type LogSink } from './logger.ts';

/** A prompt being edited on the terminal: what redraws it after a log line. */
export interface TerminalLine {
  /** The prompt and what has been typed so far (nothing of a secret). */
  redraw(): string;
}

let terminalLine: TerminalLine | undefined;

/** The console owns the terminal's current line until the returned function is called. */
export function holdTerminalLine(line: TerminalLine): () => void {
  terminalLine = line;
  return () => {
    if (terminalLine === line) terminalLine = undefined;
  };
}

const PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

/** systemd sets JOURNAL_STREAM to the device and inode of the journal stream it gave us. */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const stream = env.JOURNAL_STREAM;
  if (!stream) return false;
  try {
    const s = fstatSync(2);
    return stream === `${s.dev}:${s.ino}`;
  } catch {
    return false;
  }
}

export function stderrSink(minimum: () => LogLevel, options: { journal?: boolean } = {}): LogSink {
  const journal = options.journal ?? stderrIsJournal();
  return {
    minimum,
    write(record: LogRecord) {
      if (journal) {
        process.stderr.write(`<${PRIORITY[record.level]}>${formatRecord(record, { time: false })}\n`);
        return;
      }
      const line = formatRecord(record) + '\n';
      const held = process.stderr.isTTY ? terminalLine : undefined;
      // \r and "erase to end of line" (ECMA-48 EL): the half-typed line goes, the log line takes its place.
      process.stderr.write(held ? `\r\x1b[K${line}${held.redraw()}` : line);
    },
  };
}
