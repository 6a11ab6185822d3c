// `npm test` type-checks first: Node strips types without checking them, so a type error would
// otherwise pass every test. Run on a copy of the checkout (symlinks to it) with one type error in src/.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');

t.test('npm test stops at a type error, before preparing the machine or running a test', { timeout: 120_000 }, async (t) => {
  const copy = await mkdtemp(join(tmpdir(), 'yubin-typecheck-'));
  t.teardown(() => rm(copy, { recursive: true, force: true }));
  for (const entry of await readdir(repo)) if (entry !== 'src') await symlink(join(repo, entry), join(copy, entry));
  await mkdir(join(copy, 'src'));
  for (const entry of await readdir(join(repo, 'src'))) await symlink(join(repo, 'src', entry), join(copy, 'src', entry));
  await writeFile(join(copy, 'src/type-error.ts'), "export const port: number = 'twenty-five';\n");
  const r = spawnSync('bash', [join(copy, 'test/run.sh')], { encoding: 'utf8', timeout: 100_000 });
  const lines = r.stdout.trim().split('\n');
  t.equal(r.status, 1, 'exit 1');
  t.match(r.stdout, /src\/type-error\.ts\(1,14\): error TS2322/, 'tsc names the file, line and error');
  t.equal(lines.at(-1), '0 passed, 1 failed', 'the closing line CI reads');
  t.notMatch(r.stdout + r.stderr, /prepare:|# \{ total/, 'neither prepare nor tap ran');
});
