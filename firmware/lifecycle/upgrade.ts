// Firmware upgrades on A/B boards (image/lib/slots.ts): a signed RAUC bundle is fetched (URL) or
// taken (FILE) and handed to RAUC, which checks its signature and compatibility before it writes
// anything, writes the other slot and makes it the boot loader's first choice (GRUB on x86-64,
// U-Boot on arm64). The data partition is never written. After the reboot yubin-health marks the
// new slot good, or the loader returns to the old one after its tries; the firmware then reports
// the rollback (`upgradeStatus`).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { join, dirname } from 'node:path';
import type { Context, Service } from '../../src/context.ts';
import { configRollbackText } from '../../src/config/migrations.ts';

export const RAUC_CONF = '/etc/rauc/system.conf';
export const GRUBENV = '/boot/firmware/grub/grubenv';
/** arm64: U-Boot's environment file, RAUC's BOOT_ORDER and BOOT_<slot>_LEFT (image/lib/slots.ts). */
export const UBOOTENV = '/boot/firmware/uboot.env';

export function upgradesAvailable(conf = RAUC_CONF): boolean {
  return existsSync(conf);
}

export class UpgradeError extends Error {}

/** Download `url` to `file` (temp name, renamed when complete), reporting every 10 %. */
export async function download(url: string, file: string, say: (line: string) => void): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UpgradeError(`${url}: not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UpgradeError(`${url}: only http and https URLs`);
  const response = await fetch(parsed).catch((err: Error) => {
    throw new UpgradeError(`${url}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
  });
  if (!response.ok || !response.body) throw new UpgradeError(`${url}: HTTP ${response.status} ${response.statusText}`);
  const total = Number(response.headers.get('content-length') ?? 0);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.part`;
  const out = createWriteStream(tmp, { mode: 0o600 });
  let got = 0;
  let shown = -1;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      got += chunk.length;
      if (!out.write(chunk)) await once(out, 'drain');
      const tenth = total > 0 ? Math.floor((got / total) * 10) : -1;
      if (tenth > shown) {
        shown = tenth;
        say(`downloading: ${tenth * 10}% (${(got / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MiB)`);
      }
    }
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    throw new UpgradeError(`${url}: download failed: ${(err as Error).message}`);
  }
  if (total > 0 && got !== total) {
    await rm(tmp, { force: true });
    throw new UpgradeError(`${url}: got ${got} of ${total} bytes`);
  }
  const { rename } = await import('node:fs/promises');
  await rename(tmp, file);
}

/**
 * `rauc install FILE` (through RAUC's D-Bus service): its progress lines go to `say`. RAUC refuses
 * a bundle whose signature does not chain to the keyring, that is for another board (compatible),
 * or that is damaged, before it writes a slot; its reason is the error's message.
 */
export async function install(file: string, say: (line: string) => void, rauc = 'rauc'): Promise<void> {
  await stat(file).catch(() => {
    throw new UpgradeError(`${file}: no such file`);
  });
  const child = spawn(rauc, ['install', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const said: string[] = [];
  let pending = '';
  const lines = (text: string) => {
    pending += text;
    const parts = pending.split(/\r?\n|\r/);
    pending = parts.pop() ?? '';
    for (const l of parts) {
      if (!l.trim()) continue;
      said.push(l.trim());
      say(l.trim());
    }
  };
  child.stdout.on('data', (b: Buffer) => lines(b.toString()));
  child.stderr.on('data', (b: Buffer) => lines(b.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (pending.trim()) {
    said.push(pending.trim());
    say(pending.trim());
  }
  if (code !== 0) {
    // RAUC's own reason ("LastError: signature verification failed: …", "Compatible mismatch …"),
    // not its closing "Installing `…` failed".
    const reason = said.find((l) => l.startsWith('LastError:'))?.slice('LastError:'.length).trim() ?? said.at(-1) ?? `rauc install exited ${code}`;
    throw new UpgradeError(`refused: ${reason.replace(/^rauc-Message:\s*/, '')}`);
  }
}

export interface BootState {
  /** The slot this boot runs (rauc.slot= on the kernel command line), or null off A/B boards. */
  booted: string | null;
  /** The boot loader's first choice (the first slot of GRUB's ORDER or U-Boot's BOOT_ORDER). */
  primary: string | null;
  env: Record<string, string>;
}

/** GRUB's environment block: "# GRUB Environment Block", KEY=VALUE lines, # padding to 1 KiB. */
export function parseGrubenv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.includes('=')) continue;
    const at = line.indexOf('=');
    env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

/** A U-Boot environment (`env export -c`, fw_setenv): CRC-32, then KEY=VALUE strings each ended by NUL, an empty one last. */
export function parseUbootEnv(bytes: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of bytes.subarray(4).toString('latin1').split('\0')) {
    if (entry === '') break;
    const at = entry.indexOf('=');
    if (at > 0) env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

export function bootState(cmdline = '/proc/cmdline', grubenv = GRUBENV, ubootenv = UBOOTENV): BootState {
  const args = existsSync(cmdline) ? readFileSync(cmdline, 'utf8') : '';
  const booted = /(?:^|\s)rauc\.slot=(\S+)/.exec(args)?.[1] ?? null;
  const env = existsSync(grubenv) ? parseGrubenv(readFileSync(grubenv, 'latin1')) : existsSync(ubootenv) ? parseUbootEnv(readFileSync(ubootenv)) : {};
  return { booted, primary: (env.ORDER ?? env.BOOT_ORDER)?.split(' ')[0] ?? null, env };
}

/** The rollback, in words, when this boot is not the loader's first choice; null when all is as chosen. */
export function rollbackText(state: BootState): string | null {
  if (!state.booted || !state.primary || state.booted === state.primary) return null;
  // GRUB counts tries; RAUC's U-Boot variables count what is left (none after a rollback), not how many were made.
  const tries = state.env[`${state.primary}_TRY`];
  return `upgrade rolled back: slot ${state.primary} did not become healthy${tries ? ` in ${tries} tries` : ''}; running slot ${state.booted} again`;
}

/** An extension: at start, a rollback found in the boot loader's state becomes an alert (console, LEDs, MQTT). */
export function upgradeStatusService(ctx: Context, read: () => BootState = () => bootState()): Service {
  return {
    name: 'upgrade-status',
    async start() {
      const text = rollbackText(read());
      if (text) {
        ctx.log.log('error', text);
        ctx.bus.emit('lifecycle.problem', { source: 'upgrade', text });
      }
      // The old slot found the new firmware's configuration and went back to the copy from before.
      for (const outcome of ctx.store.migrations) {
        if (outcome.rolledBack) ctx.bus.emit('lifecycle.problem', { source: 'upgrade', text: configRollbackText(outcome.rolledBack) });
      }
    },
    async stop() {},
  };
}

/** Where a downloaded bundle waits for RAUC: on the data partition, never in the backup. */
export const bundleFile = (dataDir: string) => join(dataDir, 'upgrade', 'download.raucb');
