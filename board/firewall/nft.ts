// Running nft(8): apply a generated script atomically, read state back as JSON.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bound on what we read from nft: a full ban set listing is well under this. */
const MAX_OUTPUT = 8 * 1024 * 1024;
const TIMEOUT_MS = 10_000;

export class NftError extends Error {}

export class Nft {
  /** Command prefix, e.g. ['nft'] or ['ip', 'netns', 'exec', 'router', 'nft']. */
  readonly #command: readonly string[];

  constructor(command: readonly string[] = ['nft']) {
    if (command.length === 0) throw new Error('nft command must not be empty');
    this.#command = command;
  }

  run(args: readonly string[]): Promise<string> {
    const [file, ...pre] = this.#command as [string, ...string[]];
    return new Promise((resolve, reject) => {
      const child = spawn(file, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      // Our own timer, not spawn's: spawn's keeps the process alive after an ENOENT.
      const timer = setTimeout(() => child.kill(), TIMEOUT_MS);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      const collect = (into: Buffer[]) => (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_OUTPUT) child.kill();
        else into.push(chunk);
      };
      child.stdout.on('data', collect(out));
      child.stderr.on('data', collect(err));
      child.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new NftError(e.code === 'ENOENT' ? `${file} not found: install nftables` : `${file}: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
        else {
          const why = Buffer.concat(err).toString('utf8').trim() || (signal ? `killed by ${signal}` : `exit ${code}`);
          reject(new NftError(`nft ${args.join(' ')}: ${why}`));
        }
      });
    });
  }

  /** Apply a whole script in one kernel transaction (nft -f): all of it or nothing. */
  async apply(script: string): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'yubin-nft-'));
    try {
      const file = join(dir, 'yubin.nft');
      await writeFile(file, script, { mode: 0o600 });
      await this.run(['-f', file]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async json(args: readonly string[]): Promise<unknown[]> {
    const text = await this.run(['-j', ...args]);
    const parsed: unknown = JSON.parse(text);
    const list = (parsed as { nftables?: unknown }).nftables;
    if (!Array.isArray(list)) throw new NftError(`nft -j ${args.join(' ')}: unexpected output`);
    return list;
  }
}

export interface SetElement {
  address: string;
  packets: number;
  /** Seconds until the element times out, when it has a timeout. */
  expires?: number;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Elements of the named set in a `nft -j list …` answer (address, packet count, time left). */
export function setElements(list: readonly unknown[], setName: string): SetElement[] {
  const out: SetElement[] = [];
  for (const item of list) {
    const set = record(record(item)?.['set']);
    if (!set || set['name'] !== setName || !Array.isArray(set['elem'])) continue;
    for (const e of set['elem'] as unknown[]) {
      if (typeof e === 'string') {
        out.push({ address: e, packets: 0 });
        continue;
      }
      const inner = record(record(e)?.['elem']);
      if (!inner || typeof inner['val'] !== 'string') continue;
      const counter = record(inner['counter']);
      const packets = typeof counter?.['packets'] === 'number' ? counter['packets'] : 0;
      const el: SetElement = { address: inner['val'], packets };
      if (typeof inner['expires'] === 'number') el.expires = inner['expires'];
      out.push(el);
    }
  }
  return out;
}

/** Packets of the named counter object in a `nft -j list …` answer, or undefined. */
export function counterPackets(list: readonly unknown[], name: string): number | undefined {
  for (const item of list) {
    const c = record(record(item)?.['counter']);
    if (c && c['name'] === name && typeof c['packets'] === 'number') return c['packets'];
  }
  return undefined;
}
