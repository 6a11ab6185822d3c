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
  /**
   * The factory-reset button read once at power-on (board/gpio/button.ts): a BCM pin, pressed when
   * low (the Pi firmware's `gpio=26=ip,pu` in config.txt gives it a pull-up). Absent: no button.
   */
  readonly resetButton?: number;
}

// The same header pins on every Pi-shaped board: BCM 17, 27, 22, 23 are plain GPIOs with no
// default alternate function (not I2C, SPI, UART or PCM), so LEDs there never fight a HAT bus.
const headerLeds = { ready: 17, mail: 27, alert: 22, heartbeat: 23 } as const;
// BCM 26 is header pin 37, beside a ground (pin 39): a push button fits across the two, on no bus.
const headerButton = 26;

export const PROFILES = {
  pi3: { name: 'pi3', description: 'Raspberry Pi 3 B/B+ (BCM2837)', chipLabels: ['pinctrl-bcm2835'], leds: headerLeds, resetButton: headerButton },
  pi4: { name: 'pi4', description: 'Raspberry Pi 4 B (BCM2711)', chipLabels: ['pinctrl-bcm2711'], leds: headerLeds, resetButton: headerButton },
  pi5: { name: 'pi5', description: 'Raspberry Pi 5 (header GPIOs on the RP1 south bridge)', chipLabels: ['pinctrl-rp1'], leds: headerLeds, resetButton: headerButton },
  zero2w: { name: 'zero2w', description: 'Raspberry Pi Zero 2 W (BCM2710A1)', chipLabels: ['pinctrl-bcm2835'], leds: headerLeds, resetButton: headerButton },
  cm4: { name: 'cm4', description: 'Compute Module 4 on a router carrier (BCM2711)', chipLabels: ['pinctrl-bcm2711'], leds: headerLeds, resetButton: headerButton },
  x86: { name: 'x86', description: 'x86-64 box: no GPIO LEDs', chipLabels: [], leds: {} },
} as const satisfies Record<string, BoardProfile>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

export function profile(name: ProfileName): BoardProfile {
  return PROFILES[name];
}
