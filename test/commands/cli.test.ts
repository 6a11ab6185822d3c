// The CLI as an admin runs it: a child process, a password on a pipe, exit codes.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigStore } from '../../src/config/store.ts';
import { Users } from '../../src/accounts/users.ts';

const script = `import { runCli } from ${JSON.stringify(resolve(import.meta.dirname, '../../firmware/commands/cli.ts'))};
process.exitCode = await runCli(process.argv.slice(1), { dataDir: process.env.YUBIN_DATA });`;

function yubin(dir: string, args: string[], stdin = ''): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], { env: { ...process.env, YUBIN_DATA: dir } });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill(), 40_000);
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, out, err });
    });
    child.stdin.end(stdin);
  });
}

t.test('yubin user add reads the password from stdin; config set refuses with exit 2', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const add = await yubin(dir, ['user', 'add', 'alice'], 'piped-password\npiped-password\n');
  t.equal(add.code, 0, add.err);
  t.equal(add.out, 'added alice: alice@localhost\n');
  t.equal(add.err, 'New password for alice: Repeat password for alice: ', 'prompts go to stderr; the password is not shown');
  const users = new Users(await ConfigStore.open(dir));
  t.equal(await users.authenticate('alice', 'piped-password'), 'alice');
  const bad = await yubin(dir, ['config', 'set', 'smtp.maxSize', 'banana']);
  t.same(bad, { code: 2, out: '', err: 'smtp.maxSize: "banana" is not allowed: expected an integer from 1024 to 1073741824\n' });
});
