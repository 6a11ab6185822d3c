// The autoconfig documents as the clients fetch them: from the board's own web listener, over
// plain HTTP (Thunderbird tries it) and HTTPS, with the query Thunderbird sends and the POST body
// Outlook sends; the listener opens for autoconfig.enabled and closes when it is turned off, and a
// body larger than Autodiscover needs is refused before it is read whole.
import t from 'tap';
import { startInProcess } from '../support/firmware.ts';
import { fetchFrom } from '../support/http.ts';

const fetch = (scheme: 'http' | 'https', port: number, host: string, path: string, o: { method?: string; body?: string } = {}) =>
  fetchFrom(port, host, path, { scheme, ...o, ...(o.body !== undefined ? { headers: { 'Content-Type': 'text/xml' } } : {}) });

const outlook = (address: string) => `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>${address}</EMailAddress>
  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request>
</Autodiscover>`;

t.test('the web listener serves autoconfig while it is enabled: Thunderbird GET with its query, Outlook POST, Apple profile', async (t) => {
  const fw = await startInProcess(t, { hostname: 'mx.yubin.test', domains: ['yubin.test'] });
  t.same(fw.web.ports(), {}, 'autoconfig off (the default): no web port');
  fw.ctx.store.stage('autoconfig.enabled', 'true');
  await fw.ctx.store.commit();
  const open = async () => {
    for (let i = 0; i < 250; i++) {
      const p = fw.web.ports();
      if (p.http && p.https) return p as { http: number; https: number };
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`web ports not open: ${JSON.stringify(fw.web.ports())}`);
  };
  const { http, https } = await open();
  const pop3s = fw.ports().pop3s;

  for (const [scheme, port] of [['http', http], ['https', https]] as const) {
    const tb = await fetch(scheme, port, 'autoconfig.yubin.test', '/mail/config-v1.1.xml?emailaddress=alice%40yubin.test');
    t.equal(tb.status, 200, `${scheme}: Thunderbird's clientConfig`);
    t.match(tb.type, /^application\/xml/);
    t.match(tb.body, new RegExp(`<incomingServer type="pop3">\\s*<hostname>mx\\.yubin\\.test</hostname>\\s*<port>${pop3s}</port>`), 'names the POP3S port the board holds');
  }
  const foreign = await fetch('http', http, 'autoconfig.yubin.test', '/mail/config-v1.1.xml?emailaddress=bob%40elsewhere.test');
  t.equal(foreign.status, 404, 'an address of another domain: the query was read');
  t.match(foreign.body, /not a domain of this server: bob@elsewhere\.test/);

  const ad = await fetch('https', https, 'autodiscover.yubin.test', '/autodiscover/autodiscover.xml', { method: 'POST', body: outlook('alice@yubin.test') });
  t.equal(ad.status, 200, "Outlook's POST is answered");
  t.match(ad.body, /<LoginName>alice<\/LoginName>|<LoginName>alice@yubin\.test<\/LoginName>/, 'for the address in the POSTed body');
  t.match(ad.body, new RegExp(`<Port>${pop3s}</Port>`));

  const big = await fetch('https', https, 'autodiscover.yubin.test', '/autodiscover/autodiscover.xml', { method: 'POST', body: outlook('alice@yubin.test') + ' '.repeat(20_000) });
  t.equal(big.status, 413, 'a body beyond what Autodiscover needs: 413');
  const elsewhere = await fetch('https', https, 'yubin.test', '/somewhere', { method: 'POST', body: 'x=1' });
  t.equal(elsewhere.status, 405, 'POST anywhere else: 405');

  const apple = await fetch('https', https, 'yubin.test', '/mobileconfig/alice@yubin.test');
  t.equal(apple.status, 200, 'the Apple profile');
  t.equal(apple.type, 'application/x-apple-aspen-config');
  t.match(apple.body, /<key>IncomingMailServerPortNumber<\/key>\s*<integer>\d+<\/integer>/);

  fw.ctx.store.stage('autoconfig.enabled', 'false');
  await fw.ctx.store.commit();
  for (let i = 0; i < 250 && Object.keys(fw.web.ports()).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.same(fw.web.ports(), {}, 'autoconfig off again: the listener closes');
});
