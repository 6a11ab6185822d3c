// What every station gets from the firmware: configuration, users, the event bus, a logger.
// Services are started and stopped by firmware/supervisor.ts in a fixed order.
import type { ConfigStore } from './config/store.ts';
import type { Users } from './accounts/users.ts';
import type { EventBus } from './events/bus.ts';
import type { Leases } from './policy/leases.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

export interface Context {
  readonly dataDir: string;
  readonly store: ConfigStore;
  readonly users: Users;
  readonly bus: EventBus;
  readonly log: Logger;
  /** POP-before-SMTP relay leases, granted by POP3, read by the relay policy. */
  readonly leases: Leases;
}

/** A long-running part of the firmware (listener, queue manager, LED driver, MQTT link...). */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
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
