// `yubin setup` run again from a terminal (a pty made by socat around the CLI): the current values
// are offered, Enter keeps them, the admin password can be kept; a changed answer is written, and
// Ctrl-C at a later run leaves config.json byte for byte as it was.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repo, seed, tempDir } from '../support/firmware.ts';
import { ConfigStore } from '../../src/config/store.ts';
import { hashPassword } from '../../src/accounts/passwords.ts';

/** `yubin setup` on a pty: what it prints, and a way to type. */
function setupOnPty(t: { teardown(fn: () => unknown): void }, dataDir: string) {
  const command = `${process.execPath} ${join(repo, 'firmware/yubin.ts')} --data ${dataDir} setup`;
  const socat = spawn('socat', ['-', `EXEC:${command},pty,setsid,ctty,stderr,raw,echo=0`], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => void socat.kill());
  let screen = '';
  let seen = 0;
  socat.stdout.on('data', (d: Buffer) => (screen += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => socat.on('exit', (code) => resolve(code)));
  return {
    exited,
    type: (s: string) => socat.stdin.write(s),
    async expect(text: string, ms = 15_000): Promise<string> {
      const end = Date.now() + ms;
      for (;;) {
        const at = screen.indexOf(text, seen);
        if (at >= 0) {
          const fresh = screen.slice(seen, at + text.length);
          seen = at + text.length;
          return fresh;
        }
        if (Date.now() > end) throw new Error(`timed out waiting for ${JSON.stringify(text)}; screen: ${JSON.stringify(screen.slice(seen))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

t.test('yubin setup on a terminal: current values offered, one changed, written; Ctrl-C later changes nothing', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { hostname: 'mx.office.test', domains: ['office.test'], 'console.passwordHash': await hashPassword('admin-secret-1') });
  const run = setupOnPty(t, dataDir);
  const answer = async (q: string, a: string) => {
    await run.expect(q);
    run.type(`${a}\r`);
  };
  await answer('Keep the current admin password? (yes/no) [yes]: ', '');
  await answer('Set up anew, or restore a backup? (new/restore) [new]: ', '');
  await answer('Host name, e.g. mx.example.com [mx.office.test]: ', '');
  await answer('Domains [office.test]: ', 'office.test, branch.office.test');
  await answer('User name (Enter when done): ', '');
  await run.expect('not a board (system.networkDir is empty): the network is left as it is');
  await answer('Is outgoing port 25 blocked? (no/yes) [no]: ', '');
  await answer('Time zone [UTC]: ', 'Europe/Berlin');
  const summary = await run.expect('Write it? (yes/no) [yes]: ');
  t.match(summary, 'domains = office.test, branch.office.test');
  t.match(summary, 'system.timeZone = Europe/Berlin');
  t.notMatch(summary, 'hostname =', 'what stays the same is not listed');
  t.notMatch(summary, 'console.passwordHash', 'the kept admin password is not rewritten');
  run.type('\r');
  await run.expect('setup written.');
  t.equal(await run.exited, 0, 'exit 0');
  const store = await ConfigStore.open(dataDir);
  t.same(store.get('domains'), ['office.test', 'branch.office.test']);
  t.equal(store.get('system.timeZone'), 'Europe/Berlin');
  store.close();

  const before = await readFile(join(dataDir, 'config.json'));
  const again = setupOnPty(t, dataDir);
  await again.expect('Keep the current admin password? (yes/no) [yes]: ');
  again.type('\r');
  await again.expect('Set up anew, or restore a backup? (new/restore) [new]: ');
  again.type('\r');
  await again.expect('Host name, e.g. mx.example.com [mx.office.test]: ');
  again.type('mx.changed.test\x03');
  await again.expect('setup cancelled: nothing was changed');
  t.equal(await again.exited, 1, 'exit 1');
  t.same(await readFile(join(dataDir, 'config.json')), before, 'config.json byte for byte as it was');
});
