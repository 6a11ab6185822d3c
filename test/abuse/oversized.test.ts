// Oversized lines, commands and messages get their specific answers and cost nothing but the
// refusal: SMTP command lines over 4096 octets, messages over smtp.maxSize (counted on the bytes
// sent, not the SIZE declared), too many recipients; POP3 command lines over 255 octets (RFC 2449).
import t from 'tap';
import { connect } from 'node:net';
import { startInProcess } from '../support/firmware.ts';
import { RawSmtp } from '../support/clients.ts';

t.test('oversized SMTP and POP3 input answered with the right codes', async (t) => {
  const fw = await startInProcess(t, { 'smtp.greetingDelay': 0, 'smtp.maxSize': 100_000, 'smtp.maxRecipients': 3, 'senderauth.enabled': false }, [
    { name: 'alice', password: 'alice-password-1', addresses: ['alice@yubin.test'] },
  ]);
  const port = fw.ports().smtp!;
  const session = async () => {
    const s = await RawSmtp.open(port, '127.0.0.9');
    t.teardown(() => s.close());
    await s.reply();
    return s;
  };

  await t.test('a command line over 4096 octets: 421 4.4.2 and the connection closes', async (t) => {
    const s = await session();
    t.match(await s.command('EHLO ' + 'a'.repeat(5000)), /^421 4\.4\.2 .*too long/i);
    t.equal(await s.reply(2000).catch(() => ''), '', 'closed');
  });

  await t.test('100 KB without a line end: refused, not buffered', async (t) => {
    const s = await session();
    s.send('NOOP ' + 'z'.repeat(100_000));
    t.match(await s.reply(), /^421 4\.4\.2 /);
  });

  await t.test('a message over smtp.maxSize, declared or not: 552 5.3.4', async (t) => {
    const s = await session();
    await s.command('EHLO client.example');
    t.match(await s.command('MAIL FROM:<a@outside.example> SIZE=200000'), /^552 5\.3\.4 /, 'declared SIZE over the limit: refused at MAIL');
    t.match(await s.command('MAIL FROM:<a@outside.example>'), /^250 /);
    t.match(await s.command('RCPT TO:<alice@yubin.test>'), /^250 /);
    t.match(await s.command('DATA'), /^354 /);
    s.send('Subject: big\r\n\r\n' + ('x'.repeat(998) + '\r\n').repeat(200) + '.\r\n');
    t.match(await s.reply(), /^552 5\.3\.4 Message too big: \d+ bytes sent, limit is 100000/, 'undeclared: refused at the end of DATA');
    t.match(await s.command('NOOP'), /^250 /, 'the session goes on');
  });

  await t.test('recipients beyond smtp.maxRecipients: 452 4.5.3', async (t) => {
    const s = await session();
    await s.command('EHLO client.example');
    await s.command('MAIL FROM:<a@outside.example>');
    for (let i = 0; i < 3; i++) t.match(await s.command('RCPT TO:<alice@yubin.test>'), /^250 /);
    t.match(await s.command('RCPT TO:<alice@yubin.test>'), /^452 4\.5\.3 Too many recipients/);
  });

  await t.test('POP3 command lines over 255 octets: -ERR, and the session goes on', async (t) => {
    const p = connect({ port: fw.ports().pop3!, host: '127.0.0.1', localAddress: '127.0.0.9' });
    t.teardown(() => p.destroy());
    let got = '';
    p.on('data', (d: Buffer) => (got += d.toString('latin1')));
    const lines = async (n: number) => {
      const end = Date.now() + 5000;
      while (got.split('\r\n').length - 1 < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    };
    await lines(1);
    p.write('USER ' + 'u'.repeat(300) + '\r\n');
    p.write('NOOP ' + 'u'.repeat(100_000) + '\r\n');
    p.write('CAPA\r\n');
    await lines(4);
    const replies = got.split('\r\n');
    t.match(replies[1], /^-ERR Command line too long \(RFC 2449: at most 255 octets\)/);
    t.match(replies[2], /^-ERR Command line too long/);
    t.match(replies[3], /^\+OK Capability list follows/, 'CAPA still answered');
  });
});
