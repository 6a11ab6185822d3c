import t from 'tap';
import { Resolver } from 'node:dns/promises';
import { startDnsServer } from './dns-server.ts';

const longPolicy = 'v=spf1 ' + Array.from({ length: 30 }, (_, i) => `ip4:192.0.2.${i}`).join(' ') + ' -all';

t.test('test DNS server answers from zone data over UDP and TCP', async (t) => {
  const dns = await startDnsServer(t, {
    'example.test': {
      A: ['192.0.2.10'],
      AAAA: ['2001:db8::10'],
      MX: [{ preference: 10, exchange: 'mx.example.test' }],
      TXT: [longPolicy, ['v=DMARC1; ', 'p=none']],
    },
    'nullmx.test': { MX: [{ preference: 0, exchange: '.' }] },
    'broken.test': { fail: 'SERVFAIL' },
    'slow.test': { A: ['192.0.2.99'], fail: 'TIMEOUT' },
    '*.wild.test': { A: ['192.0.2.77'] },
    'a.b.deep.test': { A: ['192.0.2.5'] },
    'big.test': { TXT: Array.from({ length: 20 }, (_, i) => `record ${i} ` + 'x'.repeat(60)) },
    'alias.test': { CNAME: 'example.test' },
  });
  const r = new Resolver({ timeout: 300, tries: 1 });
  r.setServers([dns.address]);

  t.same(await r.resolve4('example.test'), ['192.0.2.10'], 'A');
  t.same(await r.resolve6('EXAMPLE.test.'), ['2001:db8::10'], 'AAAA, names case-insensitive');
  t.match(await r.resolveMx('example.test'), [{ exchange: 'mx.example.test', priority: 10 }], 'MX');
  t.match(await r.resolveMx('nullmx.test'), [{ exchange: '', priority: 0 }], 'NULL MX (RFC 7505)');

  const txt = await r.resolveTxt('example.test');
  const spf = txt.find((chunks) => chunks[0]?.startsWith('v=spf1'));
  t.ok(spf && spf.length > 1, 'a TXT string over 255 bytes is split into several strings');
  t.equal(spf?.join(''), longPolicy, 'the pieces join to the original text');
  t.ok(txt.some((chunks) => chunks.join('') === 'v=DMARC1; p=none'), 'explicit TXT strings are served as given');

  await t.rejects(r.resolve4('nothere.test'), { code: 'ENOTFOUND' }, 'missing name is NXDOMAIN');
  await t.rejects(r.resolve4('broken.test'), { code: 'ESERVFAIL' }, 'SERVFAIL on demand');
  await t.rejects(r.resolveTxt('slow.test'), { code: 'ETIMEOUT' }, 'timeout on demand for a type without records');
  t.same(await r.resolve4('slow.test'), ['192.0.2.99'], 'a type with records still answers');
  t.same(await r.resolve4('x.y.wild.test'), ['192.0.2.77'], 'wildcard');
  await t.rejects(r.resolve4('b.deep.test'), { code: 'ENODATA' }, 'an empty non-terminal is NODATA, not NXDOMAIN');
  t.same(await r.resolve4('alias.test'), ['192.0.2.10'], 'CNAME is followed inside the zone');

  const big = await r.resolveTxt('big.test');
  t.equal(big.length, 20, 'an answer over 512 bytes arrives whole (TC then TCP retry)');
  t.ok(dns.queries.some((q) => q.name === 'big.test' && q.transport === 'tcp'), 'the retry came over TCP');

  dns.setZone({ 'example.test': { A: ['192.0.2.11'] } });
  t.same(await r.resolve4('example.test'), ['192.0.2.11'], 'zone can be replaced between steps');
});
