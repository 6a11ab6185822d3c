// DKIM both ways with an independent implementation, Debian's python3-dkim (dkimpy):
// its signatures verify with ours, ours verify with it; rsa-sha256 2048 and ed25519-sha256.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createPrivateKey } from 'node:crypto';
import { writeFile, readFile } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { harness, prepend } from '../senderauth/harness.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { keygen, loadKeys } from '../../src/dkimsign/keys.ts';
import { signFile } from '../../src/dkimsign/sign.ts';
import { checkDkim } from '../../src/senderauth/check.ts';

const run = promisify(execFile);
const script = join(dirname(fileURLToPath(import.meta.url)), 'dkimpy.py');
const MESSAGE = 'From: Alice <alice@interop.test>\nTo: bob@yubin.test\nSubject: interop  test\nDate: Thu, 1 Jan 2026 00:00:00 +0000\nMessage-ID: <interop@test>\n\nLine one\n  spaced    line\n\n\n';

async function setup(t: { teardown(fn: () => unknown): void }) {
  const h = await harness(t);
  const rsa = await keygen(h.dir, 'interop.test', { algorithm: 'rsa-sha256', selector: 'rsa1' });
  const ed = await keygen(h.dir, 'interop.test', { algorithm: 'ed25519-sha256', selector: 'ed1' });
  const zonePath = join(h.dir, 'zone.json');
  await writeFile(zonePath, JSON.stringify({ [rsa.name]: rsa.value, [ed.name]: ed.value }));
  return { h, rsa, ed, zonePath };
}

const keys = await setup(t);

t.test('python3-dkim verifies our rsa-sha256 and ed25519-sha256 signatures', async (t) => {
  const { h, zonePath } = keys;
  const path = await h.message('ours', MESSAGE);
  const sigs = await signFile(path, await loadKeys(h.dir, 'interop.test'), 'relaxed/relaxed');
  t.equal(sigs.length, 2, 'one signature per key');
  await prepend(path, sigs);
  const { stdout } = await run('/usr/bin/python3', [script, 'verify', path, zonePath], { timeout: 20_000 });
  t.same(stdout.trim().split('\n').sort(), ['interop.test ed1 pass', 'interop.test rsa1 pass']);

  const tampered = join(h.dir, 'tampered.eml');
  await writeFile(tampered, (await readFile(path, 'latin1')).replace('Line one', 'Line 1'), 'latin1');
  const bad = await run('/usr/bin/python3', [script, 'verify', tampered, zonePath], { timeout: 20_000 });
  t.same(bad.stdout.trim().split('\n').sort(), ['interop.test ed1 fail', 'interop.test rsa1 fail'], 'and rejects them after the body changes');
});

t.test('our verifier accepts signatures made by python3-dkim', async (t) => {
  const { h, rsa, ed, ed: { name: edName }, rsa: { name: rsaName } } = keys;
  const dns = await startDnsServer(t, { [rsaName]: { TXT: [rsa.value] }, [edName]: { TXT: [ed.value] } });
  const path = await h.message('theirs', MESSAGE);
  // dkimpy wants a PKCS#1 RSA key and the raw ed25519 seed.
  const rsaPem = createPrivateKey(await readFile(rsa.path, 'utf8')).export({ type: 'pkcs1', format: 'pem' }) as string;
  const seed = Buffer.from((createPrivateKey(await readFile(ed.path, 'utf8')).export({ format: 'jwk' }) as { d: string }).d, 'base64url').toString('base64');
  await writeFile(join(h.dir, 'rsa.key'), rsaPem);
  await writeFile(join(h.dir, 'ed.seed'), seed);
  const a = await run('/usr/bin/python3', [script, 'sign', path, 'interop.test', 'rsa1', join(h.dir, 'rsa.key'), 'rsa-sha256'], { timeout: 20_000 });
  const b = await run('/usr/bin/python3', [script, 'sign', path, 'interop.test', 'ed1', join(h.dir, 'ed.seed'), 'ed25519-sha256'], { timeout: 20_000 });
  const fields = [a.stdout, b.stdout].map((s) => s.replace(/\r?\n$/, '').replace(/\r?\n/g, '\r\n'));
  t.match(fields[0], /^DKIM-Signature: .*a=rsa-sha256/s);
  t.match(fields[1], /^DKIM-Signature: .*a=ed25519-sha256/s);
  await prepend(path, fields);
  const result = await checkDkim(path, { dns: dns.address });
  t.equal(result.result, 'pass');
  t.equal(result.why.filter((w) => /: pass/.test(w)).length, 2, `both signatures pass:\n${result.why.join('\n')}`);
});
