// `yubin config set op25b.…` from the CLI changes the ruleset of the running firmware: the whole
// firmware runs as a child inside a network namespace made here (its nft sees only that
// namespace), and the test reads the live table with `nft list` inside it.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tempDir, seed, startChild, repo, BASE_SETTINGS } from '../support/firmware.ts';
import { run } from '../support/clients.ts';

const sh = promisify(execFile);
const NS = `yb-live-${randomBytes(3).toString('hex')}`;
await sh('ip', ['netns', 'add', NS]);
t.teardown(() => sh('ip', ['netns', 'del', NS]).catch(() => undefined));
await sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);

const table = async (): Promise<string> => {
  const r = await sh('ip', ['netns', 'exec', NS, 'nft', 'list', 'ruleset'], { timeout: 10_000 });
  return r.stdout;
};

async function until(what: string, check: (ruleset: string) => boolean, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ruleset = await table();
    if (check(ruleset)) return ruleset;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ruleset:\n${ruleset}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('config set op25b.* from the CLI re-applies the running ruleset; a restart-only setting says so', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'op25b.enabled': true, 'op25b.lanInterface': 'lan0' });
  const fw = await startChild(dataDir, [], 20_000, { wrapper: ['ip', 'netns', 'exec', NS] });
  t.teardown(() => void fw.child.kill('SIGKILL'));
  const yubin = async (...args: string[]) => {
    const r = await run(process.execPath, [join(repo, 'firmware/yubin.ts'), '--data', dataDir, ...args]);
    t.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  t.match(await until('the table', (r) => r.includes('table inet yubin')), /iifname "lan0" .*tcp dport 25 jump op25b/, 'OP25B on lan0 at start');

  t.equal(await yubin('config', 'set', 'op25b.lanInterface', 'br-lan'), 'op25b.lanInterface = br-lan\n');
  const moved = await until('br-lan', (r) => r.includes('"br-lan"'));
  t.notMatch(moved, /"lan0"/, 'the rule moved to the new LAN interface');

  await yubin('config', 'set', 'op25b.exemptHosts', '10.9.9.9/32');
  t.match(await until('the exempt host', (r) => r.includes('10.9.9.9')), /10\.9\.9\.9/, 'op25b.exemptHosts applied');

  await yubin('config', 'set', 'alerts.autoBanPorts', '25,2999');
  t.match(await until('the ban ports', (r) => /tcp dport \{[^}]*2999/.test(r)), /tcp dport \{[^}]*2999[^}]*\} ip saddr @/, 'alerts.autoBanPorts applied');

  // A combination that cannot be applied: the firewall is reported down, mail goes on; the fix brings it back.
  await yubin('config', 'set', 'op25b.lanInterface', '');
  await until('the table gone', (r) => !r.includes('table inet yubin'));
  await yubin('config', 'set', 'op25b.lanInterface', 'lan1');
  t.match(await until('the table back', (r) => r.includes('"lan1"')), /iifname "lan1"/, 'tried again at once once the settings are fixed');
  t.match(fw.stderr(), /msg="extension down; mail goes on" service=firewall error="its config\.changed listener failed: op25b\.lanInterface: must name the LAN interface when op25b\.enabled is true"/);

  t.equal(await yubin('config', 'set', 'smtp.port', '2600'), 'smtp.port = 2600 (takes effect after restart)\n', 'a restart-only setting says so');
  fw.child.kill('SIGTERM');
  await fw.exited;
  t.notMatch(await table(), /table inet yubin/, 'a clean stop removes the table');
});
