// Client autoconfig documents from the running firmware's real ports, read by Python's XML and
// plist parsers as the clients' own would: Thunderbird's clientConfig names the ports the board
// really listens on (and POP3S answers there), Autodiscover answers Outlook's POST, the
// .mobileconfig parses with plistlib; addresses outside the local domains get nothing.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { startInProcess, tempDir } from '../support/firmware.ts';
import { autoconfigRoute, type AutoconfigRequest } from '../../src/autoconfig/routes.ts';
import type { ServicePorts } from '../../src/autoconfig/facts.ts';

const run = promisify(execFile);
const READER = join(import.meta.dirname, 'read-client-config.py');

async function read(dir: string, format: string, body: string): Promise<Record<string, unknown>> {
  const file = join(dir, `${format}-${Math.random().toString(16).slice(2)}`);
  await writeFile(file, body);
  const { stdout } = await run('python3', [READER, format, file]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

const get = (path: string, host: string, query: Record<string, string> = {}): AutoconfigRequest => ({ method: 'GET', host, path, query });

t.test('autoconfig documents describe the ports the board really listens on, and parse as the clients parse them', async (t) => {
  const fw = await startInProcess(t, { hostname: 'mx.yubin.test', domains: ['yubin.test', 'branch.test'], 'autoconfig.enabled': true });
  const dir = await tempDir(t);
  const p = fw.ports();
  const ports: ServicePorts = { submission: p.submission, smtps: p.smtps, pop3: p.pop3, pop3s: p.pop3s };
  t.ok(ports.pop3s && ports.submission && ports.smtps && ports.pop3, `listening: ${JSON.stringify(ports)}`);
  const route = autoconfigRoute(fw.ctx, () => ports);
  t.ok(route.active(), 'on while autoconfig.enabled');

  // Thunderbird: both paths, the domain from the Host header.
  for (const [host, path] of [['autoconfig.yubin.test', '/mail/config-v1.1.xml'], ['yubin.test', '/.well-known/autoconfig/mail/config-v1.1.xml']] as const) {
    t.ok(route.match({ path }), `${path} is ours`);
    const res = route.handle(get(path, host, { emailaddress: 'alice@yubin.test' }));
    t.equal(res.status, 200);
    t.equal(res.type, 'application/xml; charset=utf-8');
    const tb = await read(dir, 'thunderbird', res.body) as { id: string; domains: string[]; incoming: Array<Record<string, unknown>>; outgoing: Array<Record<string, unknown>> };
    t.equal(tb.id, 'yubin.test');
    t.same(tb.domains, ['yubin.test', 'branch.test']);
    t.same(tb.incoming, [
      { type: 'pop3', hostname: 'mx.yubin.test', port: ports.pop3s, socketType: 'SSL', authentication: 'password-cleartext', username: '%EMAILLOCALPART%' },
      { type: 'pop3', hostname: 'mx.yubin.test', port: ports.pop3, socketType: 'STARTTLS', authentication: 'password-cleartext', username: '%EMAILLOCALPART%' },
      { type: 'pop3', hostname: 'mx.yubin.test', port: ports.pop3, socketType: 'plain', authentication: 'password-encrypted', username: '%EMAILLOCALPART%' },
    ], 'POP3S first, then STLS, then APOP on plain POP3');
    t.same(tb.outgoing, [
      { type: 'smtp', hostname: 'mx.yubin.test', port: ports.smtps, socketType: 'SSL', authentication: 'password-cleartext', username: '%EMAILLOCALPART%' },
      { type: 'smtp', hostname: 'mx.yubin.test', port: ports.submission, socketType: 'STARTTLS', authentication: 'password-cleartext', username: '%EMAILLOCALPART%' },
    ]);
  }
  // The POP3S port the document names really speaks POP3 over TLS.
  const greeting = await new Promise<string>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: ports.pop3s!, rejectUnauthorized: false }, () => undefined);
    s.once('data', (d) => { resolve(d.toString()); s.destroy(); });
    s.once('error', reject);
  });
  t.match(greeting, /^\+OK/, 'POP3S answers on the port named');

  // Outlook's POST.
  const body = `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>Alice@yubin.test</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`;
  const ad = route.handle({ method: 'POST', host: 'autodiscover.yubin.test', path: '/Autodiscover/Autodiscover.xml', query: {}, body });
  t.equal(ad.status, 200);
  const outlook = await read(dir, 'autodiscover', ad.body) as { protocols: Array<Record<string, unknown>> };
  t.same(outlook.protocols, [
    { type: 'POP3', server: 'mx.yubin.test', port: ports.pop3s, loginName: 'alice', ssl: 'on', encryption: 'SSL' },
    { type: 'POP3', server: 'mx.yubin.test', port: ports.pop3, loginName: 'alice', ssl: 'on', encryption: 'TLS' },
    { type: 'SMTP', server: 'mx.yubin.test', port: ports.smtps, loginName: 'alice', ssl: 'on', encryption: 'SSL' },
    { type: 'SMTP', server: 'mx.yubin.test', port: ports.submission, loginName: 'alice', ssl: 'on', encryption: 'TLS' },
  ], 'no APOP for Outlook, which has none');
  const foreign = route.handle({ method: 'POST', host: 'autodiscover.yubin.test', path: '/autodiscover/autodiscover.xml', query: {}, body: body.replace('Alice@yubin.test', 'eve@elsewhere.test') });
  t.same(await read(dir, 'autodiscover', foreign.body), { error: '600' }, 'a foreign address gets Autodiscover error 600');

  // Apple: a profile per user, parsed by plistlib; the same profile twice has the same UUIDs.
  const mc = route.handle(get('/mobileconfig/alice@branch.test', 'mx.yubin.test'));
  t.equal(mc.status, 200);
  t.equal(mc.type, 'application/x-apple-aspen-config');
  t.match(mc.headers, { 'Content-Disposition': 'attachment; filename="alice@branch.test.mobileconfig"' });
  const profile = await read(dir, 'mobileconfig', mc.body);
  t.match(profile, {
    EmailAccountType: 'EmailTypePOP', EmailAddress: 'alice@branch.test', IncomingMailServerHostName: 'mx.yubin.test',
    IncomingMailServerPortNumber: ports.pop3s, IncomingMailServerUseSSL: true, IncomingMailServerUsername: 'alice',
    OutgoingMailServerPortNumber: ports.smtps, OutgoingMailServerUseSSL: true, OutgoingPasswordSameAsIncomingPassword: true,
    PayloadType: 'com.apple.mail.managed', profileUUID: /^[0-9A-F]{8}-[0-9A-F]{4}-8[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/,
  });
  t.same(await read(dir, 'mobileconfig', route.handle(get('/mobileconfig/alice@branch.test', 'mx.yubin.test')).body), profile, 'downloaded again: the same profile (replaces, not duplicates)');

  // Nothing for addresses or hosts outside the local domains, and nothing tells which users exist.
  t.equal(route.handle(get('/mobileconfig/eve@elsewhere.test', 'mx.yubin.test')).status, 404);
  t.equal(route.handle(get('/mail/config-v1.1.xml', 'autoconfig.elsewhere.test', { emailaddress: 'eve@elsewhere.test' })).status, 404);
  t.equal(route.handle(get('/mobileconfig/nosuchuser@yubin.test', 'mx.yubin.test')).status, 200, 'an unknown user of a local domain looks the same as a real one');
  t.equal(route.handle({ method: 'POST', host: 'yubin.test', path: '/mail/config-v1.1.xml', query: {} }).status, 405);
  t.notOk(route.match({ path: '/etc/passwd' }));

  await fw.ctx.store.set('autoconfig.enabled', 'false');
  t.notOk(route.active(), 'off: the listener does not serve it');
});
