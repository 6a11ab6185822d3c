// Shared by the sender-auth and signing tests: a temp data dir, a Context, message files.
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigStore } from '../../src/config/store.ts';
import { type Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import type { MessageContext } from '../../src/pipeline/stage.ts';
import type { Direction } from '../../src/mail/types.ts';
import { createContext } from '../../firmware/context.ts';

export interface Harness {
  dir: string;
  ctx: Context;
  store: ConfigStore;
  /** Write a message (LF or CRLF given; stored CRLF like the spool, our Received header first). */
  message(name: string, text: string): Promise<string>;
  envelope(path: string, over: { ip: string; helo?: string; mailFrom: string; direction?: Direction }): Promise<MessageContext>;
}

export async function harness(t: { teardown(fn: () => unknown): void }, settings: Record<string, string> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-auth-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await ConfigStore.open(dir);
  t.teardown(() => store.close());
  for (const [k, v] of Object.entries(settings)) store.stage(k, v);
  await store.commit();
  const ctx: Context = createContext(dir, store, stderrLogger('warn'));
  let n = 0;
  return {
    dir,
    ctx,
    store,
    async message(name, text) {
      const path = join(dir, `${name}.eml`);
      const received = 'Received: from client.test (client.test [192.0.2.10])\r\n\tby mx.yubin.test with ESMTP id Q' + ++n + '; Thu, 1 Jan 2026 00:00:00 +0000\r\n';
      await writeFile(path, received + text.replace(/\r?\n/g, '\r\n'));
      return path;
    },
    async envelope(path, over) {
      const size = (await readFile(path)).length;
      return {
        queueId: `Q${n}`,
        direction: over.direction ?? 'inbound',
        client: { address: over.ip, hostname: '', helo: over.helo ?? 'client.test', tls: false, user: null, trusted: false },
        mailFrom: over.mailFrom,
        rcpts: ['user@yubin.test'],
        path,
        size,
      };
    },
  };
}

/** Prepend header fields (each without CRLF) to a message file, as the pipeline does. */
export async function prepend(path: string, headers: readonly string[]): Promise<void> {
  const body = await readFile(path);
  await writeFile(path, Buffer.concat([Buffer.from(headers.map((h) => h + '\r\n').join('')), body]));
}
