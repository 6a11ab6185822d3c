// The board's own health as bus facts: every alerts.checkSeconds, free space on the data folder
// (disk.low below alerts.diskLowMiB) and the queue depth (queue.backlog at alerts.queueBacklog).
// The engine turns them into alerts like any other fact.
import { statfs } from 'node:fs/promises';
import type { Context, Service } from '../context.ts';

export interface HealthWatchOptions {
  /** The queue manager's live depth; without it the queue is not watched. */
  queueDepth?: () => number;
}

export interface HealthWatch extends Service {
  /** Check now (the timer does this every alerts.checkSeconds). */
  check(): Promise<void>;
}

export function createHealthWatch(ctx: Context, options: HealthWatchOptions = {}): HealthWatch {
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  async function check(): Promise<void> {
    if (running) return; // a hung file system must not stack checks
    running = true;
    try {
      const lowMiB = ctx.store.get('alerts.diskLowMiB');
      if (lowMiB > 0) {
        const s = await statfs(ctx.dataDir);
        const freeBytes = s.bavail * s.bsize;
        if (freeBytes < lowMiB * 1024 * 1024) ctx.bus.emit('disk.low', { path: ctx.dataDir, freeBytes });
      }
      const depth = options.queueDepth?.();
      if (depth !== undefined && depth >= ctx.store.get('alerts.queueBacklog')) ctx.bus.emit('queue.backlog', { depth });
    } catch (err) {
      ctx.log.log('warn', 'health check failed', { error: (err as Error).message });
    } finally {
      running = false;
    }
  }

  return {
    name: 'health',
    async start() {
      if (timer) return;
      await check();
      timer = setInterval(() => void check(), ctx.store.get('alerts.checkSeconds') * 1000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
    },
    check,
  };
}
