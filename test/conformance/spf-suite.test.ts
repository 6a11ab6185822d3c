// The RFC 7208 SPF test suite (openspf, as kept in pyspf) run through our SPF check (checkSpf:
// mailauth in strict mode over our resolver) against our test DNS server loaded with the zone data.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { TestDnsServer } from '../support/dns-server.ts';
import { suiteZone } from './spf-zone.ts';
import { conformanceData } from './data.ts';
import { createResolver } from '../../src/dns/resolver.ts';
import { checkSpf } from '../../src/senderauth/check.ts';

const SUITE = join(conformanceData, 'spf/rfc7208-tests.yml');
const OLD_NAMES: Record<string, string> = { unknown: 'permerror', error: 'temperror' };

interface SuiteTest { helo: string; host: string; mailfrom: string; result: string | string[]; explanation?: string; spec?: string }
interface Scenario { description: string; tests: Record<string, SuiteTest>; zonedata: Record<string, Array<string | Record<string, unknown>>> }

t.test('RFC 7208 SPF suite: at least 98% agreement', async (t) => {
  const scenarios = parseAllDocuments(await readFile(SUITE, 'utf8')).map((d) => d.toJS() as Scenario).filter((s) => s && s.tests);
  const dns = await new TestDnsServer({}).start();
  t.teardown(() => dns.stop());
  // The timeout cases wait this long; short, since the zone answers at once otherwise.
  const resolver = createResolver({ servers: [dns.address], timeoutMs: 1500, tries: 1 });
  let total = 0;
  let agreed = 0;
  const disagreements: string[] = [];
  for (const scenario of scenarios) {
    const { zone, missing } = suiteZone(scenario.zonedata);
    dns.setZone(zone);
    dns.missing = missing;
    for (const [id, test] of Object.entries(scenario.tests)) {
      total++;
      const expected = ([] as string[]).concat(test.result).map((r) => OLD_NAMES[r] ?? r);
      const got = await checkSpf({ ip: test.host, helo: test.helo, from: test.mailfrom ?? '', dns: resolver });
      if (expected.includes(got.result)) agreed++;
      else disagreements.push(`${scenario.description} / ${id} (spec ${test.spec ?? '?'}): expected ${expected.join('|')}, got ${got.result} — ${got.why[0]}`);
    }
  }
  const pct = (100 * agreed) / total;
  t.comment(`SPF suite: ${agreed}/${total} agree (${pct.toFixed(1)}%)`);
  for (const d of disagreements) t.comment(`disagreement: ${d}`);
  t.ok(total >= 200, `${total} tests read from the suite`);
  t.ok(pct >= 98, `agreement ${pct.toFixed(1)}% is at least 98%`);
});
