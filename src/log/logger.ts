// The firmware's logger: one line per record, a level and key=value fields.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

/** Logger writing one line per record to stderr: "level message key=value ...". */
export function stderrLogger(minimum: LogLevel = 'info'): Logger {
  const order: LogLevel[] = ['debug', 'info', 'warn', 'error'];
  return {
    log(level, message, fields) {
      if (order.indexOf(level) < order.indexOf(minimum)) return;
      const extra = fields ? ' ' + Object.entries(fields).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ') : '';
      process.stderr.write(`${new Date().toISOString()} ${level} ${message}${extra}\n`);
    },
  };
}
