// A bad setting is refused with a message naming the key; the running firmware keeps its old,
// working configuration. A good one takes effect without a restart.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, seed, startChild, repo, BASE_SETTINGS } from '../support/firmware.ts';
import { run, swaks, swaksReply } from '../support/clients.ts';

t.test('yubin config set smtp.maxSize banana is refused and mail keeps flowing', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS }, [{ name: 'alice', password: 'alice-password-1' }]);
  const fw = await startChild(dataDir);
  t.teardown(() => fw.child.kill('SIGKILL'));
  const yubin = (...args: string[]) => run(process.execPath, [join(repo, 'firmware/yubin.ts'), '--data', dataDir, ...args]);
  const before = await readFile(join(dataDir, 'config.json'), 'utf8');

  const bad = await yubin('config', 'set', 'smtp.maxSize', 'banana');
  t.equal(bad.code, 2, 'exit code 2');
  t.match(bad.stderr, /smtp\.maxSize: "banana" is not allowed: expected an integer from 1024 to 1073741824/);
  t.equal(await readFile(join(dataDir, 'config.json'), 'utf8'), before, 'config file untouched');

  const unknown = await yubin('config', 'set', 'smtp.maxSise', '10');
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /smtp\.maxSise: unknown key/);

  const send = async () => swaksReply((await swaks(['--server', '127.0.0.1', '--port', String(fw.ports.smtp), '--local-interface', '127.0.0.2', '--from', 'a@outside.example', '--to', 'alice@yubin.test', '--body', 'x'.repeat(3000)])).stdout, '.');
  t.match(await send(), /^250 2\.0\.0 Ok: queued/, 'the running firmware still accepts mail');

  // A good change is committed durably and the running firmware picks it up.
  const good = await yubin('config', 'set', 'smtp.maxSize', '2K');
  t.equal(good.code, 0, good.stderr);
  const deadline = Date.now() + 10_000;
  let reply = '';
  while (Date.now() < deadline) {
    reply = (await send()) ?? '';
    if (reply.startsWith('552')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.match(reply, /^552 5\.3\.4 Message too big/, 'new limit in force without a restart');
});
