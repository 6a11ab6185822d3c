// A station context on a fresh data folder, as the supervisor builds one (store, users, event
// bus, leases), for the targets that call stations directly rather than over a socket.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore } from '../../src/config/store.ts';
import { Users } from '../../src/accounts/users.ts';
import { EventBus } from '../../src/events/bus.ts';
import { Leases } from '../../src/policy/leases.ts';
import type { Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { createContext } from '../../firmware/context.ts';

export interface OpenContext {
  ctx: Context;
  close(): Promise<void>;
}

export async function openContext(prefix: string, settings: Record<string, unknown>): Promise<OpenContext> {
  const dataDir = await mkdtemp(join(tmpdir(), `yubin-fuzz-${prefix}-`));
  const store = await ConfigStore.open(dataDir);
  for (const [k, v] of Object.entries(settings)) store.stageValue(k, v);
  await store.commit();
  const ctx: Context = createContext(dataDir, store, stderrLogger('error'));
  return {
    ctx,
    async close() {
      store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
