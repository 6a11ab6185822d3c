// Seed §6 end to end with two Yubins: the edge in the DMZ keeps no mail and passes local mail to
// the internal server; the internal server keeps the mailboxes and sends out through the edge.
import t from 'tap';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { startDnsServer } from '../support/dns-server.ts';
import { commonFreePort, startPeer, waitFor, mailboxOf, queuedIds } from '../outbound/fixtures/harness.ts';
import { startInstance } from './fixtures/instance.ts';
import { access } from 'node:fs/promises';
import { join } from 'node:path';

const EDGE = '127.0.0.81';
const INTERNAL = '127.0.0.82';
const OUTSIDE_MX = '127.0.0.83';
const OUTSIDE_CLIENT = '127.0.0.84';
const LAN_PC = '127.0.0.85';

/** One SMTP transaction from `local` to host:port; returns the final reply or the refusal. */
async function send(o: { local: string; host: string; port: number; from: string; to: string; auth?: { user: string; pass: string }; subject: string }): Promise<string> {
  const conn = new SMTPConnection({ host: o.host, port: o.port, localAddress: o.local, tls: { rejectUnauthorized: false }, requireTLS: Boolean(o.auth), logger: false, connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 10_000 });
  conn.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect((err) => (err ? reject(err) : resolve()));
    });
    if (o.auth) await new Promise<void>((resolve, reject) => conn.login(o.auth!, (err) => (err ? reject(err) : resolve())));
    const body = `From: <${o.from}>\r\nTo: <${o.to}>\r\nSubject: ${o.subject}\r\n\r\nHello.\r\n`;
    return await new Promise<string>((resolve) => conn.send({ from: o.from, to: [o.to] }, body, (err, info) => resolve(err ? ((err as { response?: string }).response ?? err.message) : info.response)));
  } finally {
    conn.close();
  }
}

t.test('edge and internal roles, the relay table of docs/REQUIREMENTS.md §4 and the roles of §6 end to end', async (t) => {
  const dns = await startDnsServer(t, { 'world.test': { MX: [{ preference: 10, exchange: 'mx.world.test' }] }, 'mx.world.test': { A: [OUTSIDE_MX] } });
  const mxPort = await commonFreePort([OUTSIDE_MX]);
  const outsideMx = await startPeer(t, OUTSIDE_MX, mxPort);

  const internal = await startInstance(t, {
    role: 'internal',
    hostname: 'mail.office.test',
    domains: 'office.test',
    'listen.address': INTERNAL,
    trustedNetworks: '127.0.0.1/32',
    'outbound.sourceAddress': INTERNAL,
  });
  await internal.ctx.users.add('alice', 'correct horse battery');
  const edge = await startInstance(t, {
    role: 'edge',
    hostname: 'gw.office.test',
    domains: 'office.test',
    'listen.address': EDGE,
    trustedNetworks: `${INTERNAL}/32`,
    'dns.servers': dns.address,
    'outbound.port': String(mxPort),
    'relay.internalHost': `${INTERNAL}:${internal.ports.mta}`,
  });
  await internal.ctx.store.set('relay.edgeHost', `${EDGE}:${edge.ports.mta}`);

  await t.test('outside → edge → internal → Maildir', async (t) => {
    const reply = await send({ local: OUTSIDE_CLIENT, host: EDGE, port: edge.ports.mta, from: 'carol@world.test', to: 'alice@office.test', subject: 'inbound via the edge' });
    t.match(reply, /^250 /, `the edge accepts mail for the local domain: ${reply}`);
    await waitFor('in alice\'s Maildir on the internal server', async () => (await mailboxOf(internal.ctx, 'alice')).length === 1);
    const [msg] = await mailboxOf(internal.ctx, 'alice');
    t.match(msg, /Subject: inbound via the edge/);
    t.match(msg, /Received: from gw\.office\.test[^]*by mail\.office\.test/, 'the internal server got it from the edge');
    t.match(msg, /by gw\.office\.test \(Yubin\)/, 'the edge left its trace');
    await waitFor('edge queue empty', async () => (await queuedIds(edge.spool)).length === 0);
    await t.rejects(access(join(edge.ctx.dataDir, 'mail')), 'the edge stores no mailbox');
  });

  await t.test('internal user → internal MSA → edge → outside MX', async (t) => {
    const reply = await send({ local: LAN_PC, host: INTERNAL, port: internal.ports.submission, from: 'alice@office.test', to: 'dave@world.test', auth: { user: 'alice', pass: 'correct horse battery' }, subject: 'outbound via the edge' });
    t.match(reply, /^250 /, `the MSA accepts the authenticated user's mail: ${reply}`);
    await waitFor('at the outside MX', () => outsideMx.received.length === 1);
    const got = outsideMx.received[0]!;
    t.same(got.to, ['dave@world.test']);
    t.equal(got.from, 'alice@office.test');
    t.equal(got.helo, 'gw.office.test', 'the outside MX talked to the edge, not to the internal server');
    t.match(got.data, /^Received: from mail\.office\.test \(unknown \[127\.0\.0\.82\]\)\r\n\t\(using TLS[^]*by gw\.office\.test \(Yubin\) with ESMTPS [^]*by mail\.office\.test \(Yubin\) with ESMTPSA /, 'the edge took it from the internal server over STARTTLS; both in the trace');
  });

  await t.test('outside → outside is refused at the edge', async (t) => {
    const reply = await send({ local: OUTSIDE_CLIENT, host: EDGE, port: edge.ports.mta, from: 'mallory@world.test', to: 'victim@else.test', subject: 'relay?' });
    t.match(reply, /^554 5\.7\.1 /, `relay denied: ${reply}`);
    await new Promise((r) => setTimeout(r, 200));
    t.equal(outsideMx.received.length, 1, 'nothing more left the edge');
    t.same(await queuedIds(edge.spool), []);
  });
});
