// The diagnostics behind `yubin check spf|senderid|dkim|dmarc ... --dns HOST:PORT`: a result and why.
import t from 'tap';
import { startDnsServer } from '../support/dns-server.ts';
import { harness, prepend } from './harness.ts';
import { checkSpf, checkSenderId, checkDkim, checkDmarc } from '../../src/senderauth/check.ts';
import { keygen, loadKeys } from '../../src/dkimsign/keys.ts';
import { signFile } from '../../src/dkimsign/sign.ts';

t.test('diagnostics explain each result', async (t) => {
  const h = await harness(t);
  const key = await keygen(h.dir, 'diag.test', { algorithm: 'ed25519-sha256' });
  const dns = await startDnsServer(t, {
    'diag.test': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all', 'spf2.0/pra ip4:192.0.2.7 -all'] },
    '_dmarc.diag.test': { TXT: ['v=DMARC1; p=reject; adkim=s'] },
    [key.name]: { TXT: [key.value] },
    'helo.diag.test': { TXT: ['v=spf1 a -all'], A: ['192.0.2.50'] },
    'explain.test': { TXT: ['v=spf1 -all exp=why.explain.test'] },
    'why.explain.test': { TXT: ['%{i} is not one of our mail servers'] },
  });

  const pass = await checkSpf({ ip: '192.0.2.33', helo: 'mx.diag.test', from: 'user@diag.test', dns: dns.address });
  t.equal(pass.result, 'pass');
  t.match(pass.why.join('\n'), /record of diag\.test: "v=spf1 ip4:192\.0\.2\.0\/24 -all"/);
  t.match(pass.why.join('\n'), /DNS lookups: \d+ of 10 allowed/);

  const helo = await checkSpf({ ip: '192.0.2.50', helo: 'helo.diag.test', from: '', dns: dns.address });
  t.equal(helo.result, 'pass', 'the null sender checks the HELO name (RFC 7208 §2.4)');

  const fail = await checkSpf({ ip: '198.51.100.1', helo: 'x', from: 'a@explain.test', dns: dns.address });
  t.equal(fail.result, 'fail');
  t.match(fail.why.join('\n'), /explanation published by the domain: 198\.51\.100\.1 is not one of our mail servers/);

  const none = await checkSpf({ ip: '198.51.100.1', helo: 'x', from: 'a@nothing.test', dns: dns.address });
  t.equal(none.result, 'none');
  t.match(none.why.join('\n'), /no SPF record found for nothing\.test/);

  const file = await h.message('diag', 'From: Boss <boss@diag.test>\nTo: x@y.test\nSubject: s\nDate: Thu, 1 Jan 2026 00:00:00 +0000\n\nbody\n');
  const sid = await checkSenderId(file, { ip: '192.0.2.33', from: 'user@diag.test', dns: dns.address });
  t.equal(sid.result, 'fail', 'the PRA scope record permits only 192.0.2.7');
  t.match(sid.why.join('\n'), /PRA taken from from/);
  t.match(sid.why.join('\n'), /mfrom scope: none/, 'an spf2.0 record exists, so v=spf1 does not stand in for mfrom');

  t.match(await checkDkim(file, { dns: dns.address }), { result: 'none', why: [/no DKIM-Signature/] });
  await prepend(file, await signFile(file, await loadKeys(h.dir, 'diag.test'), 'relaxed/relaxed'));
  const dkim = await checkDkim(file, { dns: dns.address });
  t.equal(dkim.result, 'pass');
  t.match(dkim.why[0], /^d=diag\.test s=yubin-ed25519 a=ed25519-sha256 c=relaxed\/relaxed: pass/);

  const dmarc = await checkDmarc(file, { ip: '198.51.100.1', from: 'bounce@other.test', dns: dns.address });
  t.equal(dmarc.result, 'pass', 'aligned DKIM alone passes DMARC');
  t.match(dmarc.why.join('\n'), /record: "v=DMARC1; p=reject; adkim=s" \(policy reject\)/);
  t.match(dmarc.why.join('\n'), /DKIM aligned: diag\.test \(strict\)/);

  const spoof = await h.message('spoof', 'From: boss@diag.test\nTo: x@y.test\nSubject: s\n\nbody\n');
  const bad = await checkDmarc(spoof, { ip: '198.51.100.1', from: 'boss@diag.test', dns: dns.address });
  t.equal(bad.result, 'fail');
  t.match(bad.why.join('\n'), /SPF fail for diag\.test; aligned: no/);
});

t.test('a check of a file that is not there fails cleanly (it was an uncaught stream error: found by the fuzzer)', async (t) => {
  const missing = '/nonexistent/yubin-no-such-message.eml';
  await t.rejects(checkDkim(missing), { code: 'ENOENT' });
  await t.rejects(checkDmarc(missing, { ip: '198.51.100.1', from: 'x@y.test' }), { code: 'ENOENT' });
  await new Promise((r) => setTimeout(r, 50));
  t.pass('the process is still here');
});
