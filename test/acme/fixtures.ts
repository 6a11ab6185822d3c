// The firmware in this process for the ACME tests: on ports chosen here (pebble must know the web
// ports before the board starts), its log kept for assertions and shown when a test fails.
import type { Test } from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, BASE_SETTINGS } from '../support/firmware.ts';
import { freePortBut } from '../support/ports.ts';
import { startFirmware, type Firmware } from '../../firmware/supervisor.ts';
import type { AcmeState } from '../../src/acme/storage.ts';

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve().then(check).catch(() => undefined);
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Board {
  fw: Firmware;
  dataDir: string;
  lines: string[];
  ports: Record<'web' | 'webTls' | 'smtp' | 'smtps', number>;
  state(): Promise<AcmeState>;
}

/** The firmware in this process, on ports chosen here, its log kept. */
export async function board(t: Test, settings: Record<string, unknown>, ports?: Partial<Board['ports']>): Promise<Board> {
  const taken = [ports?.web, ports?.webTls].filter((x): x is number => x !== undefined);
  const next = async () => {
    const port = await freePortBut(taken);
    taken.push(port);
    return port;
  };
  const p = {
    web: ports?.web ?? (await next()), webTls: ports?.webTls ?? (await next()),
    smtp: await next(), smtps: await next(), submission: await next(), pop3: await next(), pop3s: await next(),
  };
  const dataDir = await tempDir(t);
  await seed(dataDir, {
    ...BASE_SETTINGS,
    'smtp.port': p.smtp, 'smtp.submissionPort': p.submission, 'smtp.smtpsPort': p.smtps, 'pop3.port': p.pop3, 'pop3.tlsPort': p.pop3s,
    'web.port': p.web, 'web.tlsPort': p.webTls, 'acme.enabled': true,
    ...settings,
  });
  const lines: string[] = [];
  const fw = await startFirmware({ dataDir, log: { log: (level, message, fields) => lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`) } });
  t.teardown(() => fw.stop());
  t.teardown(() => {
    if (!t.passing()) t.comment(lines.slice(-40).join('\n'));
  });
  return { fw, dataDir, lines, ports: p, state: async () => JSON.parse(await readFile(join(dataDir, 'acme', 'state.json'), 'utf8')) as AcmeState };
}

