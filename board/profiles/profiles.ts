// Board profiles: which BCM pin drives each LED role, and which gpiochip holds those pins.
// BCM numbers are line offsets on the header's GPIO chip; the kernel's global number is
// chip base + offset (base 0 on old kernels, 512 on Pi 4 since 6.6, 571 on Pi 5) — see chip.ts.

export const LED_ROLES = ['ready', 'mail', 'alert', 'heartbeat'] as const;
export type LedRole = (typeof LED_ROLES)[number];

export interface BoardProfile {
  readonly name: string;
  readonly description: string;
  /** Labels of the gpiochip that carries the 40-pin header, in preference order. */
  readonly chipLabels: readonly string[];
  /** LED role → BCM pin. Empty for boards without LEDs. */
  readonly leds: Readonly<Partial<Record<LedRole, number>>>;
}

// The same header pins on every Pi-shaped board: BCM 17, 27, 22, 23 are plain GPIOs with no
// default alternate function (not I2C, SPI, UART or PCM), so LEDs there never fight a HAT bus.
const headerLeds = { ready: 17, mail: 27, alert: 22, heartbeat: 23 } as const;

export const PROFILES = {
  pi3: { name: 'pi3', description: 'Raspberry Pi 3 B/B+ (BCM2837)', chipLabels: ['pinctrl-bcm2835'], leds: headerLeds },
  pi4: { name: 'pi4', description: 'Raspberry Pi 4 B (BCM2711)', chipLabels: ['pinctrl-bcm2711'], leds: headerLeds },
  pi5: { name: 'pi5', description: 'Raspberry Pi 5 (header GPIOs on the RP1 south bridge)', chipLabels: ['pinctrl-rp1'], leds: headerLeds },
  zero2w: { name: 'zero2w', description: 'Raspberry Pi Zero 2 W (BCM2710A1)', chipLabels: ['pinctrl-bcm2835'], leds: headerLeds },
  cm4: { name: 'cm4', description: 'Compute Module 4 on a router carrier (BCM2711)', chipLabels: ['pinctrl-bcm2711'], leds: headerLeds },
  x86: { name: 'x86', description: 'x86-64 box: no GPIO LEDs', chipLabels: [], leds: {} },
} as const satisfies Record<string, BoardProfile>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

export function profile(name: ProfileName): BoardProfile {
  return PROFILES[name];
}
