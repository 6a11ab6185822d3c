// keygen writes the key and returns the exact TXT record; the stage signs outbound mail only.
import t from 'tap';
import { stat } from 'node:fs/promises';
import { harness, prepend } from '../senderauth/harness.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { keygen, keygenForCli, txtRecord } from '../../src/dkimsign/keys.ts';
import { dkimSignStage } from '../../src/dkimsign/stage.ts';
import { checkDkim } from '../../src/senderauth/check.ts';

const MESSAGE = (from: string) => `From: ${from}\nTo: someone@example.net\nSubject: hello\nDate: Thu, 1 Jan 2026 00:00:00 +0000\nMessage-ID: <s@test>\n\nbody\n`;

t.test('keygen stores a private key (mode 0600) and prints the TXT record that publishes it', async (t) => {
  const h = await harness(t);
  const ed = await keygen(h.dir, 'Office.Example', { algorithm: 'ed25519-sha256' });
  t.equal(ed.name, 'yubin-ed25519._domainkey.office.example', 'default selector, owner name lower case');
  t.match(ed.value, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/, 'RFC 8463 §4.2: raw 32-byte key');
  t.equal(((await stat(ed.path)).mode & 0o777), 0o600);
  const rsa = await keygen(h.dir, 'office.example', { selector: 's2026' });
  t.equal(rsa.name, 's2026._domainkey.office.example');
  t.match(rsa.value, /^v=DKIM1; k=rsa; p=MIIBIjAN/, '2048-bit RSA SubjectPublicKeyInfo');
  t.match(rsa.zoneLine, /^s2026\._domainkey\.office\.example\. IN TXT \( "v=DKIM1; k=rsa; p=.{230,}" ".+" \)$/, 'zone line splits the text into strings of at most 255');
  t.ok(rsa.zoneLine.match(/"([^"]*)"/g)!.every((s) => s.length - 2 <= 255));
  await t.rejects(keygen(h.dir, 'office.example', { selector: 's2026' }), /exists.*another selector/, 'an existing key is never overwritten by accident');
  await t.rejects(keygen(h.dir, 'not a domain'), /not a domain name/);
  const cli = await keygenForCli(h.dir, 'cli.example', { selector: 'jan' });
  t.same(cli.map((r) => [r.algorithm, r.name]), [['rsa-sha256', 'jan-rsa._domainkey.cli.example'], ['ed25519-sha256', 'jan-ed25519._domainkey.cli.example']], 'the CLI makes both keys by default');
  t.same(txtRecord('office.example', 's2026', await (await import('node:fs/promises')).readFile(rsa.path, 'utf8')).value, rsa.value, 'the record can be printed again from the stored key');
});

t.test('outbound mail is signed for the From domain or its parent; inbound mail and foreign domains are not', async (t) => {
  const h = await harness(t);
  const key = await keygen(h.dir, 'office.example', { algorithm: 'ed25519-sha256' });
  const dns = await startDnsServer(t, { [key.name]: { TXT: [key.value] } });

  const out = await h.message('out', MESSAGE('Boss <boss@office.example>'));
  const v = await dkimSignStage(await h.envelope(out, { ip: '127.0.0.1', mailFrom: 'boss@office.example', direction: 'outbound' }), h.ctx);
  t.equal(v.action, 'accept');
  const headers = v.action === 'accept' ? v.headers ?? [] : [];
  t.equal(headers.length, 1);
  t.match(headers[0], /^DKIM-Signature: .*d=office\.example;.*s=yubin-ed25519;/s);
  await prepend(out, headers);
  t.match(await checkDkim(out, { dns: dns.address }), { result: 'pass' }, 'the signed message verifies');

  const sub = await h.message('sub', MESSAGE('sales@eu.office.example'));
  const vs = await dkimSignStage(await h.envelope(sub, { ip: '127.0.0.1', mailFrom: 'x@eu.office.example', direction: 'outbound' }), h.ctx);
  t.match(vs, { action: 'accept', headers: [/d=office\.example/] }, 'a subdomain author is signed with the parent key (relaxed alignment)');

  const foreign = await h.message('foreign', MESSAGE('x@elsewhere.example'));
  t.same(await dkimSignStage(await h.envelope(foreign, { ip: '127.0.0.1', mailFrom: 'x@elsewhere.example', direction: 'outbound' }), h.ctx), { action: 'accept', facts: { skipped: 'no signing key for elsewhere.example' } });
  t.same(await dkimSignStage(await h.envelope(out, { ip: '127.0.0.1', mailFrom: 'boss@office.example', direction: 'inbound' }), h.ctx), { action: 'accept', facts: { skipped: 'inbound mail is not signed' } }, 'inbound is never signed');

  await h.store.set('dkimsign.domains', 'other.example');
  t.same(await dkimSignStage(await h.envelope(sub, { ip: '127.0.0.1', mailFrom: 'x@eu.office.example', direction: 'outbound' }), h.ctx), { action: 'accept', facts: { skipped: 'no signing key for eu.office.example' } }, 'dkimsign.domains limits the signing domains');
});
