// At power-on, before anything opens the data: is the factory-reset button held (board/gpio/button.ts)?
// The settings are read from config.json as plain JSON, not through the store: a configuration
// that no longer loads is one of the reasons an owner holds the button, so it must not stop it.
// A board without the button's gpiochip (a PC, a development machine) is passed over in silence.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROFILES, type ProfileName, type BoardProfile, type LedRole } from '../../board/profiles/profiles.ts';
import { openButton, countPress, STAGE_LEDS, HOLD_SETTINGS_MS, HOLD_ALL_MS, type Stage } from '../../board/gpio/button.ts';
import { gpioBackend, simulatedBackend, type LedBackend } from '../../board/gpio/backends.ts';
import { listChips } from '../../board/gpio/chip.ts';
import { schema } from '../../src/config/schema.ts';
import type { Logger } from '../../src/log/logger.ts';
import { requestReset, type ResetLevel } from './reset.ts';

type BoardKeys = 'board.profile' | 'board.leds' | 'board.gpioRoot' | 'board.resetButton';

async function boardSettings(dataDir: string): Promise<{ [K in BoardKeys]: string }> {
  let stored: Record<string, unknown> = {};
  try {
    const db = JSON.parse(await readFile(join(dataDir, 'config.json'), 'utf8')) as { settings?: Record<string, unknown> };
    stored = db.settings ?? {};
  } catch {
    // Missing or broken: the defaults (the button still works on a board whose config is broken).
  }
  const pick = (key: BoardKeys) => {
    const v = stored[key];
    return typeof v === 'string' && schema[key].kind.check(v) === null ? v : (schema[key].default as string);
  };
  return { 'board.profile': pick('board.profile'), 'board.leds': pick('board.leds'), 'board.gpioRoot': pick('board.gpioRoot'), 'board.resetButton': pick('board.resetButton') };
}

const STAGE_TEXT: Record<Stage, string> = {
  pressed: `reset button held: keep holding ${HOLD_SETTINGS_MS / 1000} s to reset the settings, ${HOLD_ALL_MS / 1000} s to erase everything`,
  settings: `reset button: settings reset armed (release now; keep holding to ${HOLD_ALL_MS / 1000} s to erase everything)`,
  all: 'reset button: full reset armed, mail included (release now)',
};

/**
 * Read the button once; when held to a level and released, the reset is requested (written
 * durably) and returned for applyPendingReset to carry out. `say` gets the lines for the console.
 */
export async function checkResetButton(dataDir: string, say: (line: string) => void, log: Logger): Promise<ResetLevel | null> {
  const s = await boardSettings(dataDir);
  const p: BoardProfile = PROFILES[s['board.profile'] as ProfileName];
  if (s['board.resetButton'] === 'off' || p.resetButton === undefined) return null;
  const chips = await listChips(s['board.gpioRoot']).catch(() => []);
  const chip = p.chipLabels.map((label) => chips.find((c) => c.label === label)).find((c) => c !== undefined);
  if (!chip) return null;
  let button;
  try {
    button = await openButton(chip, p.resetButton);
  } catch (err) {
    say(`reset button not read: ${(err as Error).message}`);
    return null;
  }
  // The LEDs are opened once, at the first stage (not for a button nobody holds); stages that
  // follow before they are open wait for the same opening.
  let leds: Promise<LedBackend | undefined> | undefined;
  const openLeds = () => s['board.leds'] === 'gpio' ? gpioBackend(p, s['board.gpioRoot'], log).catch(() => undefined)
    : s['board.leds'] === 'simulated' ? Promise.resolve(simulatedBackend(p, log)) : Promise.resolve(undefined);
  try {
    const result = await countPress(button, {
      onStage: (stage) => {
        say(STAGE_TEXT[stage]);
        leds ??= openLeds();
        void leds.then((b) => { for (const [role, pattern] of Object.entries(STAGE_LEDS[stage])) b?.show(role as LedRole, pattern); });
      },
    });
    if (result.stuck) say(`reset button held over ${Math.round(result.heldMs / 1000)} s: taken as stuck, no reset`);
    else if (result.heldMs > 0 && result.level === null) say('reset button released early: no reset');
    if (result.level) {
      await requestReset(dataDir, result.level);
      say(`reset button: ${result.level === 'all' ? 'full' : 'settings'} reset after ${(result.heldMs / 1000).toFixed(1)} s`);
    }
    return result.level;
  } finally {
    button.close();
    await (await leds)?.close();
  }
}
