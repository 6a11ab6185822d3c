// The LED service: ready = steady, heartbeat = alive, mail = blinks on activity,
// alert = fast blink from alert.raised until every alert is acknowledged (latched).
import type { Context, Service } from '../../src/context.ts';
import type { AlertEngine } from '../../src/alerts/engine.ts';
import { profile, type LedRole } from '../profiles/profiles.ts';
import { gpioBackend, simulatedBackend, type LedBackend } from './backends.ts';
import type { Pattern } from './patterns.ts';

/** How long the mail LED keeps blinking after the last message received or delivered. */
export const MAIL_BLINK_MS = 1500;

export function createLedService(ctx: Context, alerts: Pick<AlertEngine, 'activeCount'>): Service {
  let backend: LedBackend | undefined;
  const shown = new Map<LedRole, Pattern>();
  let detach: (() => void)[] = [];
  let mailTimer: NodeJS.Timeout | undefined;

  const show = (role: LedRole, pattern: Pattern): void => {
    if (!backend || !backend.roles.includes(role) || shown.get(role) === pattern) return;
    shown.set(role, pattern);
    backend.show(role, pattern);
  };

  const mailActivity = (): void => {
    show('mail', 'blink');
    clearTimeout(mailTimer);
    mailTimer = setTimeout(() => show('mail', 'off'), MAIL_BLINK_MS);
    mailTimer.unref();
  };

  return {
    name: 'leds',
    async start() {
      const mode = ctx.store.get('board.leds');
      if (mode === 'off' || backend) return;
      const p = profile(ctx.store.get('board.profile'));
      backend = mode === 'gpio' ? await gpioBackend(p, ctx.store.get('board.gpioRoot'), ctx.log) : simulatedBackend(p, ctx.log);
      if (backend.roles.length === 0) ctx.log.log('info', `board.profile ${p.name} has no LEDs`);
      show('ready', 'steady');
      show('heartbeat', 'heartbeat');
      show('mail', 'off');
      show('alert', alerts.activeCount() > 0 ? 'fast-blink' : 'off');
      detach = [
        ctx.bus.on('message.received', mailActivity),
        ctx.bus.on('message.delivered', mailActivity),
        ctx.bus.on('alert.raised', () => show('alert', 'fast-blink')),
        ctx.bus.on('alert.cleared', () => {
          if (alerts.activeCount() === 0) show('alert', 'off');
        }),
      ];
    },
    async stop() {
      for (const off of detach) off();
      detach = [];
      clearTimeout(mailTimer);
      const b = backend;
      backend = undefined;
      shown.clear();
      await b?.close();
    },
  };
}
