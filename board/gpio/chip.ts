// Find the global GPIO number for a BCM pin. Since Linux 6.6 the sysfs numbers of the Pi's
// header chip start at 512 (Pi 4) or 571 (Pi 5), not 0, so `new Gpio(17)` would drive the wrong
// line (a known onoff breakage). The chip is found by its label; global = base + BCM offset.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface GpioChip {
  /** Folder name, e.g. gpiochip512. */
  readonly name: string;
  readonly label: string;
  readonly base: number;
  readonly ngpio: number;
}

async function readTrimmed(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Every gpiochip under the sysfs GPIO folder, in folder order. */
export async function listChips(gpioRoot: string): Promise<GpioChip[]> {
  let names: string[];
  try {
    names = (await readdir(gpioRoot)).filter((n) => /^gpiochip\d+$/.test(n)).sort();
  } catch (err) {
    throw new Error(`board.gpioRoot: cannot read ${gpioRoot} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); is this kernel built with CONFIG_GPIO_SYSFS?`);
  }
  const chips: GpioChip[] = [];
  for (const name of names) {
    const label = await readTrimmed(join(gpioRoot, name, 'label'));
    const base = Number(await readTrimmed(join(gpioRoot, name, 'base')));
    const ngpio = Number((await readTrimmed(join(gpioRoot, name, 'ngpio'))) ?? NaN);
    if (label === undefined || !Number.isInteger(base)) continue;
    chips.push({ name, label, base, ngpio: Number.isInteger(ngpio) ? ngpio : Number.POSITIVE_INFINITY });
  }
  return chips;
}

/** The chip carrying the header, chosen by the profile's labels in preference order. */
export async function findChip(gpioRoot: string, labels: readonly string[], profileName: string): Promise<GpioChip> {
  const chips = await listChips(gpioRoot);
  for (const label of labels) {
    const chip = chips.find((c) => c.label === label);
    if (chip) return chip;
  }
  const seen = chips.map((c) => `${c.name}=${c.label}`).join(', ') || 'none';
  throw new Error(`board.profile: ${profileName} expects a gpiochip labelled ${labels.join(' or ')} under ${gpioRoot}, found ${seen}`);
}

/** Global sysfs number for a BCM pin on `chip`; refuses a pin the chip does not have. */
export function globalNumber(chip: GpioChip, bcm: number): number {
  if (!Number.isInteger(bcm) || bcm < 0 || bcm >= chip.ngpio) {
    throw new Error(`board.profile: BCM ${bcm} is not a line of ${chip.name} (${chip.label}, ${chip.ngpio} lines)`);
  }
  return chip.base + bcm;
}
