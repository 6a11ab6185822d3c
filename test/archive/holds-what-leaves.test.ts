// The archive holds the message exactly as it leaves: an office PC sends through the firmware to
// a remote domain, DKIM-signed; the bytes the remote exchanger received (after its own Received
// line) equal what `archive export` gives back for that message, the DKIM-Signature included.
import t from 'tap';
import { startInProcess } from '../support/firmware.ts';
import { startDnsServer } from '../support/dns-server.ts';
import { commonFreePort, startPeer, waitFor } from '../outbound/fixtures/harness.ts';
import { sendMessage } from '../faults/fixtures/mail.ts';
import { keygen } from '../../src/dkimsign/keys.ts';
import { archiveOf } from '../../src/archive/stage.ts';
import { exportMbox } from '../../src/archive/mbox.ts';
import { PassThrough } from 'node:stream';

const MX = '127.0.0.40';

t.test('the archive copy is what the remote exchanger received, signature included', async (t) => {
  const dns = await startDnsServer(t, { 'dest.test': { MX: [{ preference: 10, exchange: 'mx.dest.test' }] }, 'mx.dest.test': { A: [MX] } });
  const port = await commonFreePort([MX]);
  const peer = await startPeer(t, MX, port);
  const fw = await startInProcess(t, {
    hostname: 'yubin.office.test',
    domains: ['office.test'],
    'dns.servers': [dns.address],
    'outbound.port': port,
    'dkimsign.enabled': true,
    'smtp.greetingDelay': 0,
  }, [{ name: 'alice', password: 'alice-password-1', addresses: ['alice@office.test'] }]);
  await keygen(fw.ctx.dataDir, 'office.test');

  const message = 'From: Alice <alice@office.test>\r\nTo: bob@dest.test\r\nSubject: minutes\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m1@office.test>\r\n\r\nThe minutes.\r\n';
  const reply = await sendMessage({ port: fw.ports().smtp!, local: '127.0.0.1', from: 'alice@office.test', to: 'bob@dest.test', message });
  t.match(reply, /^250 /);
  await waitFor('delivery', () => peer.received.length === 1);
  const received = peer.received[0]!.data;
  t.match(received, /^DKIM-Signature: /m, 'the message left signed');

  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  t.equal(await exportMbox(archiveOf(fw.ctx.dataDir), {}, out), 1);
  // mboxrd: a From_ line, the message with LF line ends (no body line needs quoting here), a blank line.
  const archived = Buffer.concat(chunks).toString('utf8').replace(/^From [^\n]*\n/, '').replace(/\n\n$/, '\n').replace(/\n/g, '\r\n');
  t.equal(archived, received, 'byte for byte the message as it left');
});
