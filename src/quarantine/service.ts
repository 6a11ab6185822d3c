// The quarantine's own timer: expired mail leaves by itself (docs/REQUIREMENTS.md §5: spam removed with the least
// admin work). Started and stopped by the firmware's supervisor like every other Service.
import type { Context, Service } from '../context.ts';
import { Quarantine } from './store.ts';

export function quarantineExpiryService(context: Context): Service {
  const quarantine = new Quarantine(context);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();

  const sweep = () => {
    running = quarantine.expire().catch((err: Error) => context.log.log('error', 'quarantine expiry failed', { error: err.message }));
    return running;
  };

  // Re-armed after each sweep so a changed quarantine.sweepInterval takes effect without a restart.
  const arm = () => {
    timer = setTimeout(() => {
      void sweep().then(() => {
        if (timer !== undefined) arm();
      });
    }, context.store.get('quarantine.sweepInterval') * 1000);
    timer.unref();
  };

  return {
    name: 'quarantine-expiry',
    async start() {
      await sweep();
      arm();
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
