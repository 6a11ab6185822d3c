// Clients that vanish in the middle of a TLS handshake (after STLS, or on the POP3S port) free
// their session at once, not when the 30 s handshake timeout fires: a scanner doing this by the
// thousand kept that many TLS sockets and session slots (pop3.maxSessions) for 30 s each.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { startInProcess } from '../support/firmware.ts';
import { until } from '../faults/fixtures/mail.ts';

function opened(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.7' }, () => resolve(s));
    s.once('error', reject);
  });
}

function line(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) resolve(got);
    });
  });
}

t.test('a client that leaves during the TLS handshake frees its POP3 session at once', async (t) => {
  const fw = await startInProcess(t, { 'pop3.allowCleartext': false });
  const { pop3, pop3s } = fw.ports();
  for (let i = 0; i < 20; i++) {
    const s = await opened(pop3!);
    await line(s);
    const reply = line(s);
    s.write('STLS\r\n');
    const answer = await reply;
    if (!answer.includes('+OK')) t.fail(`STLS refused: ${answer}`);
    s.destroy();
  }
  for (let i = 0; i < 20; i++) (await opened(pop3s!)).destroy();
  t.pass('20 STLS answered, each client gone mid-handshake; 20 more gone on the POP3S port');
  await until('no POP3 session left', () => fw.pop3.sessionCount() === 0, 3000).catch(() => undefined);
  t.equal(fw.pop3.sessionCount(), 0, '40 abandoned handshakes, 0 sessions left within 3 s (the handshake timeout is 30 s)');
});
