// Where LED patterns go: real GPIO lines through onoff, or the log (development).
import type { Logger } from '../../src/log/logger.ts';
import type { BoardProfile, LedRole } from '../profiles/profiles.ts';
import { findChip, globalNumber } from './chip.ts';
import { levelAt, TICK_MS, type Pattern } from './patterns.ts';

export interface LedBackend {
  /** Roles this backend can light (a profile without a pin for a role has no such LED). */
  readonly roles: readonly LedRole[];
  show(role: LedRole, pattern: Pattern): void;
  close(): Promise<void>;
}

const rolesOf = (p: BoardProfile): LedRole[] => Object.keys(p.leds) as LedRole[];

/** Logs each pattern change: "LED alert: fast-blink (BCM 22)". */
export function simulatedBackend(p: BoardProfile, log: Logger): LedBackend {
  return {
    roles: rolesOf(p),
    show(role, pattern) {
      log.log('info', `LED ${role}: ${pattern}`, { bcm: p.leds[role], simulated: true });
    },
    async close() {},
  };
}

/** The slice of onoff's Gpio we use (onoff is loaded only when real LEDs are wanted). */
interface OutputLine {
  writeSync(value: 0 | 1): void;
  unexport(): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * onoff waits for udev to make gpioN/ writable in a short busy loop and throws when udev is
 * slower; the line is exported by then, so a later attempt finds it and goes on.
 */
async function openLine(Gpio: new (n: number, d: 'out') => OutputLine, n: number): Promise<OutputLine> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      return new Gpio(n, 'out');
    } catch (err) {
      lastError = err;
      await sleep(25);
    }
  }
  throw new Error(`board.leds: cannot open GPIO ${n} through /sys/class/gpio (${(lastError as Error).message})`);
}

export async function gpioBackend(p: BoardProfile, gpioRoot: string, log: Logger): Promise<LedBackend> {
  const roles = rolesOf(p);
  if (roles.length === 0) return { roles, show() {}, async close() {} };
  const chip = await findChip(gpioRoot, p.chipLabels, p.name);
  const { Gpio } = (await import('onoff')).default;
  if (!Gpio.accessible) {
    throw new Error('board.leds: /sys/class/gpio/export is not writable (no sysfs GPIO in this kernel, or not root); use board.leds=simulated');
  }
  const lines = new Map<LedRole, { line: OutputLine; pattern: Pattern; since: number; level: 0 | 1 | undefined }>();
  try {
    for (const role of roles) {
      const n = globalNumber(chip, p.leds[role]!);
      lines.set(role, { line: await openLine(Gpio, n), pattern: 'off', since: Date.now(), level: undefined });
    }
  } catch (err) {
    for (const l of lines.values()) l.line.unexport();
    throw err;
  }
  log.log('info', `LEDs on ${chip.name} (${chip.label}, base ${chip.base})`, { profile: p.name });
  let failed = false;
  const render = () => {
    const now = Date.now();
    for (const [role, l] of lines) {
      const level = levelAt(l.pattern, now - l.since);
      if (level === l.level) continue;
      try {
        l.line.writeSync(level);
        l.level = level;
      } catch (err) {
        // One log line, not twenty a second: a dead LED must not flood the log or stop mail.
        if (!failed) log.log('error', `LED ${role}: write failed`, { error: (err as Error).message });
        failed = true;
      }
    }
  };
  const ticker = setInterval(render, TICK_MS);
  ticker.unref();
  return {
    roles,
    show(role, pattern) {
      const l = lines.get(role);
      if (!l) return;
      l.pattern = pattern;
      l.since = Date.now(); // start each pattern at its "on" phase so activity shows at once
      render();
    },
    async close() {
      clearInterval(ticker);
      for (const l of lines.values()) {
        try {
          l.line.writeSync(0);
          l.line.unexport();
        } catch {
          // Already gone (board shutting down): nothing left to switch off.
        }
      }
      lines.clear();
    },
  };
}
