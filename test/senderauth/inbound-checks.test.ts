// Sender checks on inbound mail against the test's own DNS server serving SPF, spf2.0, DKIM and DMARC.
import t from 'tap';
import { startDnsServer, type Zone } from '../support/dns-server.ts';
import { harness, prepend } from './harness.ts';
import { senderAuthStage } from '../../src/senderauth/stage.ts';
import { keygen, loadKeys } from '../../src/dkimsign/keys.ts';
import { signFile } from '../../src/dkimsign/sign.ts';
import type { Verdict } from '../../src/pipeline/stage.ts';

const OK_IP = '192.0.2.10';
const BAD_IP = '198.51.100.66';

function msg(from: string, extra = '', body = 'Hello from the test.\n') {
  return `From: ${from}\nTo: user@yubin.test\nSubject: test\nDate: Thu, 1 Jan 2026 00:00:00 +0000\nMessage-ID: <${Math.random()}@test>\n${extra}\n${body}`;
}

function headerText(v: Verdict): string {
  return v.action === 'accept' || v.action === 'quarantine' ? (v.headers ?? []).join('\n') : '';
}

t.test('inbound sender authentication', async (t) => {
  const h = await harness(t, { hostname: 'mx.yubin.test' });
  const rsa = await keygen(h.dir, 'signed.test', { algorithm: 'rsa-sha256' });
  const ed = await keygen(h.dir, 'signed.test', { algorithm: 'ed25519-sha256' });
  const zone: Zone = {
    'signed.test': { TXT: [`v=spf1 ip4:${OK_IP} -all`] },
    [rsa.name]: { TXT: [rsa.value] },
    [ed.name]: { TXT: [ed.value] },
    '_dmarc.signed.test': { TXT: ['v=DMARC1; p=reject'] },
    'strict.test': { TXT: [`v=spf1 ip4:${OK_IP} -all`] },
    '_dmarc.strict.test': { TXT: ['v=DMARC1; p=reject'] },
    'quar.test': { TXT: [`v=spf1 ip4:${OK_IP} -all`] },
    '_dmarc.quar.test': { TXT: ['v=DMARC1; p=quarantine'] },
    'nodmarc.test': { TXT: [`v=spf1 ip4:${OK_IP} -all`] },
    'soft.test': { TXT: [`v=spf1 ip4:${OK_IP} ~all`] },
    // Sender ID: the PRA scope is narrower than the envelope scope.
    'sid.test': { TXT: [`v=spf1 ip4:${OK_IP} ip4:${BAD_IP} -all`, `spf2.0/pra ip4:${OK_IP} -all`, `spf2.0/mfrom ip4:${OK_IP} ip4:${BAD_IP} -all`] },
    'slow.test': { fail: 'TIMEOUT' },
  };
  const dns = await startDnsServer(t, zone);
  await h.store.set('dns.servers', dns.address);
  await h.store.set('dns.timeoutMs', '1500');

  const signedKeys = await loadKeys(h.dir, 'signed.test');
  async function signed(name: string, from: string, body?: string) {
    const path = await h.message(name, msg(from, '', body));
    await prepend(path, await signFile(path, signedKeys, 'relaxed/relaxed'));
    return path;
  }

  await t.test('a message that passes SPF, Sender ID, DKIM (rsa and ed25519) and DMARC is accepted with one Authentication-Results', async (t) => {
    const path = await signed('pass', 'Alice <alice@signed.test>');
    const v = await senderAuthStage(await h.envelope(path, { ip: OK_IP, mailFrom: 'alice@signed.test' }), h.ctx);
    t.equal(v.action, 'accept');
    const text = headerText(v);
    t.equal(text.match(/^Authentication-Results:/gm)?.length, 1, 'exactly one Authentication-Results');
    t.match(text, /^Authentication-Results: mx\.yubin\.test;/m, 'authserv-id is our host name');
    t.match(text, /dkim=pass [^;]*header\.d=signed\.test[^;]*header\.a=rsa-sha256/);
    t.match(text, /dkim=pass [^;]*header\.a=ed25519-sha256/);
    t.match(text, /spf=pass [^;]*smtp\.mailfrom=/);
    t.match(text, /sender-id=pass header\.from=alice@signed\.test/);
    t.match(text, /dmarc=pass/);
    t.match(text, /^Received-SPF: pass /m);
    t.notMatch(text, /X-Yubin-Auth-Warning/);
  });

  await t.test('DMARC p=reject is honoured: unsigned mail from a client SPF does not permit gets 550 5.7.1', async (t) => {
    const path = await h.message('spoof', msg('ceo@strict.test'));
    const v = await senderAuthStage(await h.envelope(path, { ip: BAD_IP, mailFrom: 'ceo@strict.test' }), h.ctx);
    t.match(v, { action: 'reject', code: 550, enhanced: '5.7.1', text: /DMARC policy of strict\.test/ });
  });

  await t.test('forwarded mail: SPF fails but the aligned DKIM signature passes, so it is accepted', async (t) => {
    const path = await signed('fwd', 'alice@signed.test');
    const v = await senderAuthStage(await h.envelope(path, { ip: BAD_IP, mailFrom: 'alice@signed.test' }), h.ctx);
    t.equal(v.action, 'accept');
    t.match(headerText(v), /spf=fail/);
    t.match(headerText(v), /dmarc=pass/);
  });

  await t.test('DMARC p=quarantine puts the message in quarantine (DMARC, not SPF -all, decides: RFC 7489 §10.1)', async (t) => {
    const path = await h.message('quar', msg('x@quar.test'));
    const v = await senderAuthStage(await h.envelope(path, { ip: BAD_IP, mailFrom: 'x@quar.test' }), h.ctx);
    t.match(v, { action: 'quarantine', reason: /quar\.test/ });
  });

  await t.test('SPF fail without DMARC is rejected with 550 5.7.23, or tagged when senderauth.spfFail=tag', async (t) => {
    const path = await h.message('spffail', msg('x@nodmarc.test'));
    const env = await h.envelope(path, { ip: BAD_IP, mailFrom: 'x@nodmarc.test' });
    t.match(await senderAuthStage(env, h.ctx), { action: 'reject', code: 550, enhanced: '5.7.23', text: /SPF check failed/ });
    await h.store.set('senderauth.spfFail', 'tag');
    t.teardown(() => h.store.set('senderauth.spfFail', 'reject'));
    const v = await senderAuthStage(env, h.ctx);
    t.equal(v.action, 'accept');
    t.match(headerText(v), /^X-Yubin-Auth-Warning: SPF check failed/m);
  });

  await t.test('SPF softfail is tagged by default', async (t) => {
    const path = await h.message('soft', msg('x@soft.test'));
    const v = await senderAuthStage(await h.envelope(path, { ip: BAD_IP, mailFrom: 'x@soft.test' }), h.ctx);
    t.equal(v.action, 'accept');
    t.match(headerText(v), /Received-SPF: softfail/);
    t.match(headerText(v), /X-Yubin-Auth-Warning: SPF softfail/);
  });

  await t.test('Sender ID checks the PRA with the spf2.0/pra record, MAIL FROM with spf2.0/mfrom', async (t) => {
    const path = await h.message('sid', msg('boss@sid.test'));
    const env = await h.envelope(path, { ip: BAD_IP, mailFrom: 'bounce@sid.test' });
    const v = await senderAuthStage(env, h.ctx);
    t.equal(v.action, 'accept', 'senderauth.senderIdFail defaults to tag');
    t.match(headerText(v), /sender-id=fail \(pra scope, boss@sid\.test: sid\.test does not permit .*\) header\.from=boss@sid\.test/);
    t.match(headerText(v), /spf=pass/, 'SPF (v=spf1) passes the envelope sender');
    t.match(headerText(v), /X-Yubin-Auth-Warning: Sender ID check failed/);
    await h.store.set('senderauth.senderIdFail', 'reject');
    t.teardown(() => h.store.set('senderauth.senderIdFail', 'tag'));
    t.match(await senderAuthStage(env, h.ctx), { action: 'reject', code: 550, enhanced: '5.7.1', text: /Sender ID/ });
  });

  await t.test('a DNS timeout on the SPF record answers 451 4.7.24 so the sender retries', async (t) => {
    const path = await h.message('slow', msg('x@slow.test'));
    const v = await senderAuthStage(await h.envelope(path, { ip: BAD_IP, mailFrom: 'x@slow.test' }), h.ctx);
    t.match(v, { action: 'tempfail', code: 451, enhanced: '4.7.24' });
  });

  await t.test('a body changed after signing fails DKIM and then DMARC p=reject', async (t) => {
    const path = await signed('tampered', 'alice@signed.test', 'Pay invoice 100.\n');
    const { readFile, writeFile } = await import('node:fs/promises');
    await writeFile(path, (await readFile(path, 'latin1')).replace('Pay invoice 100.', 'Pay invoice 900.'), 'latin1');
    const v = await senderAuthStage(await h.envelope(path, { ip: OK_IP, mailFrom: 'alice@signed.test' }), h.ctx);
    t.equal(v.action, 'accept', 'SPF still passes and aligns, so DMARC passes');
    t.match(headerText(v), /dkim=fail \(body hash did not verify\)/);
    t.match(headerText(v), /X-Yubin-Auth-Warning: no valid DKIM signature/);
    const v2 = await senderAuthStage(await h.envelope(path, { ip: BAD_IP, mailFrom: 'alice@signed.test' }), h.ctx);
    t.match(v2, { action: 'reject', code: 550, enhanced: '5.7.1' }, 'from a client SPF does not permit it is rejected by DMARC');
  });

  await t.test('outbound mail is not checked', async (t) => {
    const path = await h.message('out', msg('x@strict.test'));
    t.same(await senderAuthStage(await h.envelope(path, { ip: BAD_IP, mailFrom: 'x@strict.test', direction: 'outbound' }), h.ctx), { action: 'accept', facts: { skipped: 'outbound mail, from a POP-before-SMTP client: no SPF, DKIM or DMARC check, no Authentication-Results' } });
  });
});

t.test('an Authentication-Results field claiming our host name is removed (RFC 8601 §5); others stay', async (t) => {
  const h = await harness(t, { hostname: 'mx.yubin.test' });
  const dns = await startDnsServer(t, { 'forged.test': { TXT: [`v=spf1 ip4:${OK_IP} -all`] } });
  await h.store.set('dns.servers', dns.address);
  const path = await h.message('forged', 'Authentication-Results: mx.yubin.test; dkim=pass header.d=bank.test;\n\tdmarc=pass\nAuthentication-Results: other.example; spf=pass\nFrom: a@forged.test\nSubject: s\n\nbody line\n');
  const v = await senderAuthStage(await h.envelope(path, { ip: OK_IP, mailFrom: 'a@forged.test' }), h.ctx);
  t.equal(v.action, 'accept');
  const replacement = v.action === 'accept' ? v.replacement : undefined;
  t.ok(replacement, 'a replacement file is returned');
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(replacement!, 'latin1');
  t.notMatch(text, /mx\.yubin\.test; dkim=pass/, 'the forged field and its continuation line are gone');
  t.notMatch(text, /dmarc=pass/);
  t.match(text, /^Authentication-Results: other\.example; spf=pass\r\n/m, 'a field from another authserv-id stays');
  t.match(text, /\r\n\r\nbody line\r\n$/, 'the body is copied byte for byte');

  const clean = await h.message('clean', 'From: a@forged.test\nSubject: s\n\nbody\n');
  const v2 = await senderAuthStage(await h.envelope(clean, { ip: OK_IP, mailFrom: 'a@forged.test' }), h.ctx);
  t.equal(v2.action === 'accept' ? v2.replacement : 'x', undefined, 'no copy is made when nothing is forged');
});

t.test('a header block over 256 KiB is refused with 552 5.3.4, naming the limit', async (t) => {
  const h = await harness(t);
  const path = await h.message('huge', 'From: a@x.test\n' + 'X-Filler: '.concat('y'.repeat(990), '\n').repeat(300) + '\nbody\n');
  t.match(await senderAuthStage(await h.envelope(path, { ip: OK_IP, mailFrom: 'a@x.test' }), h.ctx), { action: 'reject', code: 552, enhanced: '5.3.4', text: /256 KiB/ });
});
