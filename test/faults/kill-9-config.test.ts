// kill -9 at random moments while the configuration is being committed, repeated: the file is
// always the old configuration or the new, never broken (src/files/durable.ts).
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, BASE_SETTINGS, repo } from '../support/firmware.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { NODE_FLAGS } from '../../firmware/node-flags.ts';
import { until, sleep } from './fixtures/mail.ts';

const ROUNDS = 10;
let state = Number(process.env.YUBIN_FAULT_SEED ?? Date.now() % 100_000);
t.comment(`random seed ${state}`);
const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

t.test(`kill -9 during config commits, ${ROUNDS} rounds: the config is always the old or the new`, async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS });
  let next = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const writer = spawn(process.execPath, [...NODE_FLAGS, join(repo, 'test/faults/fixtures/config-writer.ts'), dataDir, String(next)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    writer.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => writer.once('exit', r));
    // Node takes a few hundred ms to start: kill after the first commits, at a random moment.
    await until('the first commit', () => out.includes('committed'), 10_000);
    await sleep(Math.floor(random() * 100));
    writer.kill('SIGKILL');
    await exited;
    const committed = [...out.matchAll(/committed (\d+)/g)].map((m) => Number(m[1]));
    const last = Math.max(...committed);
    const store = await ConfigStore.open(dataDir);
    const hostname = store.get('hostname');
    store.close();
    // The last reported commit, or the one in flight when the kill came (its rename may have landed).
    t.ok([`h${last}.yubin.test`, `h${last + 1}.yubin.test`].includes(hostname), `round ${round}: ${committed.length} commits, killed after ${last}; config reads ${hostname}`);
    JSON.parse(await readFile(join(dataDir, 'config.json'), 'utf8'));
    next = last + 2;
  }
});
