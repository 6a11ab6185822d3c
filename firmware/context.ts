// The Context every station gets, as the firmware and the `yubin` CLI both make it: the config
// store's changes (from any process) reach the bus as config.changed, with exactly the keys.
import { Users } from '../src/accounts/users.ts';
import { EventBus } from '../src/events/bus.ts';
import { Leases } from '../src/policy/leases.ts';
import type { ConfigStore } from '../src/config/store.ts';
import type { Context } from '../src/context.ts';
import type { Logger } from '../src/log/logger.ts';

export function createContext(dataDir: string, store: ConfigStore, log: Logger): Context {
  const bus = new EventBus({ log });
  store.onChange((keys) => bus.emit('config.changed', { keys }));
  return { dataDir, store, users: new Users(store), bus, log, leases: new Leases() };
}
