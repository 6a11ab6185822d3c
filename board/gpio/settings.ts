// Board settings: which board this is and how its LEDs are driven.
import { setting, oneOf, path } from '../../src/settings/kinds.ts';
import type { Setting } from '../../src/settings/kinds.ts';
import { PROFILE_NAMES } from '../profiles/profiles.ts';

export const settings = {
  'board.profile': setting(oneOf(...PROFILE_NAMES), 'pi4', 'live',
    'Board model: picks the LED pins and the gpiochip label (pi3, pi4, pi5, zero2w, cm4; x86 has no LEDs).'),
  'board.leds': setting(oneOf('gpio', 'simulated', 'off'), 'simulated', 'live',
    'gpio drives real LEDs through /sys/class/gpio (onoff); simulated logs LED pattern changes (development); off does nothing. The board image sets gpio.'),
  'board.gpioRoot': setting(path, '/sys/class/gpio', 'live',
    'Folder holding gpiochip*/{label,base}, read to find the chip base. onoff itself always uses /sys/class/gpio, so only tests change this.'),
  'board.resetButton': setting(oneOf('on', 'off'), 'on', 'live',
    "The profile's factory-reset button (BCM 26 to ground on Pi boards), read at each power-on (a restart from the console does not read it, so no restart is needed for a change): held 5 s resets the settings, 15 s everything. off ignores the pin (a carrier board that uses it for something else)."),
} satisfies Record<string, Setting<unknown>>;
