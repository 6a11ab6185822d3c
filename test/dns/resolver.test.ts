import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsServer } from '../support/dns-server.ts';
import { createResolver, resolverFromSettings, DnsError } from '../../src/dns/resolver.ts';
import { ConfigStore } from '../../src/config/store.ts';

t.test('resolver asks the configured server and classifies failures', async (t) => {
  const dns = await startDnsServer(t, {
    'example.test': { A: ['192.0.2.1'], MX: [{ preference: 5, exchange: 'mx.example.test' }], TXT: ['v=spf1 -all'] },
    'broken.test': { fail: 'SERVFAIL' },
    'slow.test': { fail: 'TIMEOUT' },
    'odd:name/x%20y.test': { TXT: ['odd but legal'] },
  });
  const r = createResolver({ servers: [dns.address], timeoutMs: 1000 });
  t.same(await r.resolve('example.test', 'A'), ['192.0.2.1'], 'A through the configured server and port');
  t.same(await r.resolve('example.test', 'TXT'), [['v=spf1 -all']], 'TXT in dns.promises.resolve shape');
  t.match(await r.resolveMx('example.test'), [{ exchange: 'mx.example.test', priority: 5 }], 'MX');

  t.same(await r.resolve('odd:name/x%20y.test', 'TXT'), [['odd but legal']], 'a name c-ares refuses but RFC 2181 §11 allows is still asked');
  await t.rejects(r.resolve('missing.test', 'A'), { code: 'ENOTFOUND', permanent: true, message: /NXDOMAIN/ }, 'NXDOMAIN is permanent');
  await t.rejects(r.resolve('example.test', 'AAAA'), { code: 'ENODATA', permanent: true }, 'no data is permanent');
  await t.rejects(r.resolve('broken.test', 'A'), { code: 'ESERVFAIL', permanent: false }, 'SERVFAIL is temporary');
  const started = Date.now();
  const err = await r.resolve('slow.test', 'A').catch((e: unknown) => e);
  t.ok(err instanceof DnsError && !err.permanent && err.code === 'ETIMEOUT', 'a silent server is a temporary timeout');
  t.ok(Date.now() - started < 2500, `the timeout is bounded by dns.timeoutMs (${Date.now() - started} ms)`);
});

t.test('resolver reads dns.servers and dns.timeoutMs from the config store', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-dns-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const dns = await startDnsServer(t, { 'configured.test': { A: ['192.0.2.44'] } });
  const store = await ConfigStore.open(dir);
  t.teardown(() => store.close());
  await store.set('dns.servers', dns.address);
  await store.set('dns.timeoutMs', '800');
  const r = resolverFromSettings(store);
  t.same(r.servers, [dns.address]);
  t.same(await r.resolve('configured.test', 'A'), ['192.0.2.44']);
  t.throws(() => store.stage('dns.servers', 'dns.example.com'), /dns.servers|IP address/, 'a host name is refused with a message naming what is allowed');
});
