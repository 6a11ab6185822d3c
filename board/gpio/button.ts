// The factory-reset button, read once at power-on (OpenWrt's reset button, a router's pinhole):
// held while the board starts, it counts; the LEDs show how far it got; letting go picks the level.
//   released before  5 s  nothing (a brush against the case is not a reset)
//   held 5 s             settings: the alert LED goes from blinking to fast blinking
//   held 15 s            everything: every LED fast-blinks
//   held over 60 s       nothing: a button stuck down (or shorted) must not erase the office's mail
// The time is counted only after the button is seen down at the first read: a press after the
// firmware started does nothing, so a passer-by cannot reset a running board.
import type { LedRole } from '../profiles/profiles.ts';
import { globalNumber, type GpioChip } from './chip.ts';
import type { Pattern } from './patterns.ts';

export type ResetLevel = 'settings' | 'all';

export const HOLD_SETTINGS_MS = 5_000;
export const HOLD_ALL_MS = 15_000;
export const HOLD_STUCK_MS = 60_000;
const POLL_MS = 50;

/** What the count is at, for the LEDs: pressed (not yet a reset), then each level reached. */
export type Stage = 'pressed' | ResetLevel;

export const STAGE_LEDS: Record<Stage, Partial<Record<LedRole, Pattern>>> = {
  pressed: { ready: 'off', mail: 'off', heartbeat: 'off', alert: 'blink' },
  settings: { ready: 'off', mail: 'off', heartbeat: 'off', alert: 'fast-blink' },
  all: { ready: 'fast-blink', mail: 'fast-blink', heartbeat: 'fast-blink', alert: 'fast-blink' },
};

export interface ButtonInput {
  /** true while the button is held down. */
  pressed(): boolean;
  close(): void;
}

export interface CountOptions {
  /** Called when the stage changes (the LEDs, the console). */
  onStage?: (stage: Stage) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type CountResult = { level: ResetLevel | null; heldMs: number; stuck: boolean };

/** Count a press that is already down at the first read; returns at release (or when stuck). */
export async function countPress(button: ButtonInput, options: CountOptions = {}): Promise<CountResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  if (!button.pressed()) return { level: null, heldMs: 0, stuck: false };
  const start = now();
  let stage: Stage = 'pressed';
  options.onStage?.(stage);
  for (;;) {
    await sleep(POLL_MS);
    const held = now() - start;
    if (!button.pressed()) return { level: stage === 'pressed' ? null : stage, heldMs: held, stuck: false };
    if (held >= HOLD_STUCK_MS) return { level: null, heldMs: held, stuck: true };
    const next: Stage = held >= HOLD_ALL_MS ? 'all' : held >= HOLD_SETTINGS_MS ? 'settings' : 'pressed';
    if (next !== stage) {
      stage = next;
      options.onStage?.(stage);
    }
  }
}

/** The slice of onoff's Gpio an input needs. */
interface InputLine {
  readSync(): 0 | 1;
  unexport(): void;
}

/** The button on BCM `bcm` of `chip` through /sys/class/gpio (onoff), pressed when the line is low. */
export async function openButton(chip: GpioChip, bcm: number): Promise<ButtonInput> {
  const { Gpio } = (await import('onoff')).default;
  if (!Gpio.accessible) throw new Error('board reset button: /sys/class/gpio/export is not writable (no sysfs GPIO in this kernel, or not root)');
  const line = new Gpio(globalNumber(chip, bcm), 'in', 'none', { activeLow: true }) as unknown as InputLine;
  return {
    pressed: () => line.readSync() === 1,
    close: () => line.unexport(),
  };
}
