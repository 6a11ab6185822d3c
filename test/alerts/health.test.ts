import t from 'tap';
import { statfs } from 'node:fs/promises';
import { createAlertEngine } from '../../src/alerts/engine.ts';
import { createHealthWatch } from '../../src/alerts/health.ts';
import type { Alert } from '../../src/events/alerts.ts';
import { makeContext } from './fixtures/context.ts';

t.test('free space below alerts.diskLowMiB on the data folder raises one disk-low alert', async (t) => {
  const ctx = await makeContext(t);
  const s = await statfs(ctx.dataDir);
  const freeMiB = Math.floor((s.bavail * s.bsize) / 1024 / 1024);
  await ctx.store.set('alerts.diskLowMiB', String(freeMiB + 1024)); // the real disk is now "low"
  const alerts = createAlertEngine(ctx);
  const raised: Alert[] = [];
  ctx.bus.on('alert.raised', (a) => raised.push(a));
  const health = createHealthWatch(ctx);
  await alerts.start();
  await health.start();
  t.teardown(async () => { await health.stop(); await alerts.stop(); });
  await health.check();
  t.equal(raised.length, 1, 'checked at start, latched afterwards');
  t.match(raised[0], { kind: 'disk-low', severity: 'critical', source: ctx.dataDir, text: new RegExp(`^disk low on .*: \\d+ MiB free$`) });
});

t.test('enough free space, or the check off, raises nothing; a deep queue raises a backlog alert', async (t) => {
  const ctx = await makeContext(t, { 'alerts.diskLowMiB': '1', 'alerts.queueBacklog': '50' });
  let depth = 10;
  const alerts = createAlertEngine(ctx);
  const health = createHealthWatch(ctx, { queueDepth: () => depth });
  await alerts.start();
  await health.start();
  t.teardown(async () => { await health.stop(); await alerts.stop(); });
  t.same(alerts.active(), []);
  depth = 75;
  await health.check();
  t.match(alerts.active(), [{ kind: 'queue-backlog', text: 'mail queue backlog: 75 messages waiting' }]);
});
