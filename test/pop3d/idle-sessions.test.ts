// 200 concurrent idle sessions: the server runs in a child process so that its RSS is its own,
// not the test clients'. The figure is reported with t.comment; the only assertion is a generous bound.
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { tempDir, makeCert, LineClient } from './helpers.ts';

const SESSIONS = 200;
const src = (p: string) => pathToFileURL(join(import.meta.dirname, '../../src', p)).href;
const firmware = (p: string) => pathToFileURL(join(import.meta.dirname, '../../firmware', p)).href;

// Plain JS: the child only needs the service; commands on stdin, one JSON line per answer.
const SERVER = `
import { ConfigStore } from '${src('config/store.ts')}';
import { stderrLogger } from '${src('log/logger.ts')}';
import { createContext } from '${firmware('context.ts')}';
import { createPop3Service } from '${src('pop3d/server.ts')}';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
const dir = process.argv[2];
const store = await ConfigStore.open(dir);
store.stage('pop3.maxSessions', '1000');
store.stage('pop3.maxSessionsPerClient', '1000');
store.stage('pop3.maxSessionsPerNetwork', '1000');
await store.commit();
const ctx = createContext(dir, store, stderrLogger('error'));
const tls = { cert: await readFile(dir + '/cert.pem'), key: await readFile(dir + '/key.pem') };
const service = createPop3Service(ctx, { tls, ephemeralPorts: true });
await service.start();
const rss = () => { globalThis.gc(); globalThis.gc(); return process.memoryUsage().rss; };
console.log(JSON.stringify({ ...service.ports(), rss: rss() }));
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'rss') console.log(JSON.stringify({ rss: rss(), sessions: service.sessionCount() }));
  if (line === 'stop') { await service.stop(); process.exit(0); }
}
`;

t.test(`${SESSIONS} concurrent idle sessions, plain and TLS: RSS growth`, async (t) => {
  const dir = await tempDir(t);
  const { cert, key } = await makeCert();
  await writeFile(join(dir, 'cert.pem'), cert);
  await writeFile(join(dir, 'key.pem'), key);
  const script = join(dir, 'server.mjs');
  await writeFile(script, SERVER);
  const child = spawn(process.execPath, ['--expose-gc', script, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => child.kill());
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const answer = async <T>(command?: string): Promise<T> => {
    if (command) child.stdin.write(`${command}\n`);
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('server child did not answer')), 15_000).unref());
    const next = await Promise.race([lines.next(), timeout]);
    return JSON.parse(String(next.value)) as T;
  };
  const ready = await answer<{ pop3: number; pop3s: number; rss: number }>();
  const base = ready.rss;

  const clients: LineClient[] = [];
  t.teardown(() => clients.forEach((c) => c.close()));
  const open = async (count: number, tls: boolean) => {
    for (let i = 0; i < count; i += 20) {
      const batch = await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) =>
        LineClient.connect(tls ? ready.pop3s : ready.pop3, { localAddress: `127.0.${tls ? 2 : 1}.${1 + ((i + j) % 250)}`, tls })));
      for (const c of batch) {
        const greeting = await c.line(10_000);
        if (!greeting?.startsWith('+OK')) throw new Error(`no greeting: ${greeting}`);
      }
      clients.push(...batch);
    }
  };

  await open(SESSIONS, false);
  const plain = await answer<{ rss: number; sessions: number }>('rss');
  t.equal(plain.sessions, SESSIONS);
  await open(SESSIONS, true);
  const both = await answer<{ rss: number; sessions: number }>('rss');
  t.equal(both.sessions, 2 * SESSIONS);

  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  const kib = (n: number) => (n / 1024).toFixed(1);
  t.comment(`server RSS at start: ${mib(base)} MiB`);
  t.comment(`+${SESSIONS} plain idle sessions: +${mib(plain.rss - base)} MiB (${kib((plain.rss - base) / SESSIONS)} KiB each)`);
  t.comment(`+${SESSIONS} TLS idle sessions: +${mib(both.rss - plain.rss)} MiB (${kib((both.rss - plain.rss) / SESSIONS)} KiB each)`);
  t.ok(both.rss - base < 128 * 1024 * 1024, 'under 128 MiB for all of them');

  for (const c of clients) c.close();
  child.stdin.write('stop\n');
  await new Promise((resolve) => child.once('exit', resolve));
});
