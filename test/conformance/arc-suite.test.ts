// The ValiMail ARC validation suite (as vendored by Mail::DKIM) through our checkArc, for RFC 8617
// chain validation. Written against the ARC drafts, so the agreement is reported, with a floor.
import t from 'tap';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { TestDnsServer, type Zone } from '../support/dns-server.ts';
import { createResolver } from '../../src/dns/resolver.ts';
import { checkArc } from '../../src/senderauth/check.ts';
import { conformanceData } from './data.ts';

const SUITE = join(conformanceData, 'dkim/arc-test-suite/arc-draft-validation-tests.yml');
interface Scenario { description: string; tests: Record<string, { message: string; cv: string; spec?: string }>; 'txt-records'?: Record<string, string> }

t.test('ARC validation suite: chain validation agreement', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-arc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const scenarios = parseAllDocuments(await readFile(SUITE, 'utf8')).map((d) => d.toJS() as Scenario).filter((s) => s && s.tests);
  const dns = await new TestDnsServer({}).start();
  t.teardown(() => dns.stop());
  const resolver = createResolver({ servers: [dns.address], timeoutMs: 2000, tries: 1 });
  let total = 0;
  let agreed = 0;
  const rows: string[] = [];
  for (const s of scenarios) {
    const zone: Zone = {};
    for (const [name, value] of Object.entries(s['txt-records'] ?? {})) zone[name] = { TXT: [String(value)] };
    dns.setZone(zone);
    for (const [id, test] of Object.entries(s.tests)) {
      total++;
      const path = join(dir, `${id}.eml`);
      await writeFile(path, String(test.message ?? '').replace(/\r?\n/g, '\r\n'));
      const got = await checkArc(path, { dns: resolver });
      // An empty cv in the suite is a chain that already says cv=fail: failed (RFC 8617 §5.2 step 2).
      const expected = String(test.cv ?? '').trim().toLowerCase() || 'fail';
      // RFC 8301 §3.1 forbids rsa-sha1, which the drafts allowed: such a chain must not pass.
      const sha1 = /^ARC-(Seal|Message-Signature):[^]*?a=rsa-sha1/im.test(String(test.message));
      const allowed = sha1 && expected === 'pass' ? ['fail'] : [expected];
      if (allowed.includes(got.result)) agreed++;
      else rows.push(`${s.description.trim()} / ${id}: expected ${expected}, got ${got.result} — ${got.why[0]}`);
    }
  }
  const pct = (100 * agreed) / total;
  t.comment(`ARC suite: ${agreed}/${total} agree (${pct.toFixed(1)}%)`);
  for (const r of rows) t.comment(`disagreement: ${r}`);
  t.ok(total >= 170, `${total} tests`);
  t.ok(pct >= 98, `agreement ${pct.toFixed(1)}% is at least 98%`);
});
