// `yubin dns` as the admin runs it, against the test's own authoritative DNS server: on a broken
// zone each wrong record is named with the exact line that fixes it; on the fixed zone every line
// is ok; a lookup that times out says "cannot tell", never ok.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startDnsServer } from '../support/dns-server.ts';
import { repo, seed, tempDir } from '../support/firmware.ts';
import { zoneLine } from '../../src/dnsrecords/records.ts';
import { DOMAIN, HOST, IP, brokenZone, clean, goodZone, makeKeys, settingsFor } from './fixtures.ts';

function yubin(dataDir: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'firmware/yubin.ts'), '--data', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

/** The verdict line of one record and the line after it. */
function entry(out: string, label: string): { status: string; reason: string; next: string } {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => new RegExp(`^  \\S+\\s+${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `).test(l));
  if (i < 0) throw new Error(`no line for ${label} in:\n${out}`);
  const m = /^  (\S+)\s+[^:]+: (.*)$/.exec(lines[i]!)!;
  return { status: m[1]!, reason: m[2]!, next: (lines[i + 1] ?? '').trim() };
}

t.test('yubin dns names each broken record with the exact fix, then says ok for every line of the fixed zone', async (t) => {
  const dataDir = await tempDir(t);
  const keys = await makeKeys(dataDir);
  const dns = await startDnsServer(t, clean(brokenZone(keys)));
  await seed(dataDir, { ...settingsFor(dns.address), domains: [DOMAIN, 'nomx.test'] });

  const broken = await yubin(dataDir, 'dns');
  t.equal(broken.code, 1, 'exit 1 while something needs fixing');
  const out = broken.out;
  t.comment(out);

  const mx = entry(out, 'MX');
  t.equal(mx.status, 'WRONG');
  t.match(mx.reason, 'mail.elsewhere.test, not the board (mx.yubin.test)');
  t.equal(mx.next, `publish: ${DOMAIN}. 3600 IN MX 10 ${HOST}.`);

  const spf = entry(out, 'SPF');
  t.equal(spf.status, 'WRONG');
  t.match(spf.reason, /permerror/, 'trailing junk makes the SPF record broken, not ok');
  t.equal(spf.next, `publish: ${DOMAIN}. 3600 IN TXT "v=spf1 mx ip4:${IP} -all"`);

  const rsa = entry(out, 'DKIM yubin-rsa');
  t.equal(rsa.status, 'WRONG');
  t.match(rsa.reason, 'wrong DKIM key');
  // The fix carries the board's own key, split in strings of at most 255 bytes.
  const strings = [...rsa.next.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  t.ok(strings.length > 1 && strings.every((s) => Buffer.byteLength(s) <= 255), 'the key is split into <=255-byte strings');
  t.equal(strings.join(''), keys.rsa, 'the fix is the key the board holds');
  t.match(rsa.next, `publish: yubin-rsa._domainkey.${DOMAIN}. 3600 IN TXT ( "`);

  const ed = entry(out, 'DKIM yubin-ed25519');
  t.equal(ed.status, 'MISSING');
  t.equal(ed.next, `publish: ${zoneLine({ name: `yubin-ed25519._domainkey.${DOMAIN}`, type: 'TXT', value: keys.ed25519 })}`);

  const dmarc = entry(out, 'DMARC');
  t.equal(dmarc.status, 'MISSING');
  t.match(dmarc.reason, 'from a wildcard?', 'the wildcard TXT is not taken for a DMARC record');
  t.equal(dmarc.next, `publish: _dmarc.${DOMAIN}. 3600 IN TXT "v=DMARC1; p=none; rua=mailto:postmaster@${DOMAIN}"`);

  const a = entry(out, `${HOST} A`);
  t.equal(a.status, 'WRONG', 'a CNAME chain to another address is followed and judged');
  t.match(a.reason, `leads to 192.0.2.99, not to the board's ${IP}`);
  t.equal(a.next, `publish: ${HOST}. 3600 IN A ${IP}`);

  const ptr = entry(out, `${IP} PTR`);
  t.equal(ptr.status, 'WRONG');
  t.match(ptr.reason, 'names dyn-192-0-2-25.isp.test, not mx.yubin.test');
  t.equal(ptr.next, `ask your ISP (the address's owner) for: 25.2.0.192.in-addr.arpa. 3600 IN PTR ${HOST}`);

  const sub = entry(out, 'SRV submission');
  t.equal(sub.status, 'WRONG');
  t.equal(sub.next, `publish: _submission._tcp.${DOMAIN}. 3600 IN SRV 0 1 587 ${HOST}.`);

  const slow = entry(out, 'SRV pop3s');
  t.equal(slow.status, 'UNKNOWN', 'a timeout is "cannot tell", never ok');
  t.match(slow.reason, 'cannot tell');

  t.match(out, /WRONG\s+192\.0\.2\.25 on bl\.test: listed \(127\.0\.0\.2\): listed: test listing/, 'the block-list listing with its reason');

  const nomx = out.slice(out.indexOf('\nnomx.test\n'));
  t.match(nomx, /MISSING\s+MX: nomx\.test has no MX record/, 'a domain without MX');
  t.match(nomx, /MISSING\s+DKIM: no DKIM key is held for nomx\.test/);
  t.match(nomx, /run: yubin dkim keygen nomx\.test/);
  t.match(out, `big mailbox providers (Gmail, Yahoo, Microsoft) for ${DOMAIN}: not ready, needs SPF, DKIM, DMARC, forward-confirmed PTR, MX, not block-listed`);

  // Fixed: the good zone, one domain.
  dns.setZone(clean(goodZone(keys)));
  await seed(dataDir, { domains: [DOMAIN] });
  const fixed = await yubin(dataDir, 'dns');
  t.comment(fixed.out);
  t.equal(fixed.code, 0, fixed.err);
  const verdicts = fixed.out.split('\n').filter((l) => l.startsWith('  '));
  t.ok(verdicts.length >= 14, `${verdicts.length} records judged`);
  t.same(verdicts.filter((l) => !/^  ok {7}/.test(l)), [], 'every line is ok');
  t.match(fixed.out, `big mailbox providers (Gmail, Yahoo, Microsoft) for ${DOMAIN}: ready`);
  t.match(fixed.out, /all records ok/);

  // --offline: only the zone lines, nothing looked up.
  const before = dns.queries.length;
  const offline = await yubin(dataDir, 'dns', '--offline');
  t.equal(offline.code, 0);
  t.equal(dns.queries.length, before, 'no lookups');
  t.match(offline.out, `${DOMAIN}. 3600 IN MX 10 ${HOST}.`);
  t.match(offline.out, `; at your ISP: 25.2.0.192.in-addr.arpa. 3600 IN PTR ${HOST}`);
});
