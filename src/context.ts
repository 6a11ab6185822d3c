// What every station gets from the firmware: configuration, users, the event bus, a logger.
// Services are started and stopped by firmware/supervisor.ts in a fixed order.
import type { ConfigStore } from './config/store.ts';
import type { Users } from './accounts/users.ts';
import type { EventBus } from './events/bus.ts';
import type { Leases } from './policy/leases.ts';
import type { Logger } from './log/logger.ts';

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
