// Bounds: message size counted on the bytes sent, recipients, line length, bad commands, connections.
import t from 'tap';
import { startInProcess } from '../support/firmware.ts';
import { RawSmtp } from '../support/clients.ts';

const fw = await startInProcess(
  t,
  { 'smtp.maxSize': 64 * 1024, 'smtp.maxRecipients': 3, 'smtp.maxConnectionsPerClient': 2, 'smtp.maxBadCommands': 4 },
  [{ name: 'alice', password: 'alice-password-1' }],
);
const port = fw.smtp.ports().mta!;

async function session(from = '127.0.0.2'): Promise<RawSmtp> {
  const c = await RawSmtp.open(port, from);
  await c.reply();
  await c.command('EHLO client.example');
  return c;
}

t.test('size is enforced on the bytes actually sent, whatever SIZE declared (552 5.3.4)', async (t) => {
  const c = await session();
  t.match(await c.command('MAIL FROM:<a@outside.example> SIZE=100'), /^250 /);
  await c.command('RCPT TO:<alice@yubin.test>');
  await c.command('DATA');
  c.send('Subject: big\r\n\r\n' + ('x'.repeat(998) + '\r\n').repeat(100) + '.\r\n');
  t.match(await c.reply(), /^552 5\.3\.4 Message too big: \d+ bytes sent, limit is 65536/);
  t.match(await c.command('NOOP'), /^250 /, 'session goes on');
  c.close();
});

t.test('a declared SIZE over the limit is refused at MAIL', async (t) => {
  const c = await session();
  t.match(await c.command('MAIL FROM:<a@outside.example> SIZE=999999999'), /^552 /);
  c.close();
});

t.test('too many recipients get 452 4.5.3', async (t) => {
  const c = await session();
  await c.command('MAIL FROM:<a@outside.example>');
  for (let i = 0; i < 3; i++) t.match(await c.command('RCPT TO:<alice@yubin.test>'), /^250 /);
  t.match(await c.command('RCPT TO:<alice@yubin.test>'), /^452 4\.5\.3 Too many recipients/);
  c.close();
});

t.test('an over-long command line is refused', async (t) => {
  const c = await session();
  c.send('NOOP ' + 'a'.repeat(10_000) + '\r\n');
  t.match(await c.reply(), /^(421 4\.4\.2|500 5\.5\.[26]) .*(too long)/i);
  c.close();
});

t.test('repeated refused commands end the session with 421', async (t) => {
  const c = await session('127.0.0.3');
  await c.command('MAIL FROM:<a@outside.example>');
  const replies = [];
  for (let i = 0; i < 4; i++) replies.push(await c.command(`RCPT TO:<victim${i}@foreign.example>`));
  t.match(replies[3], /^421 4\.7\.0 Too many errors/);
  c.close();
});

t.test('connections per client are bounded (421 4.7.0)', async (t) => {
  const a = await RawSmtp.open(port, '127.0.0.4');
  const b = await RawSmtp.open(port, '127.0.0.4');
  await a.reply();
  await b.reply();
  const c = await RawSmtp.open(port, '127.0.0.4');
  t.match(await c.reply(), /^421 4\.7\.0 Too many connections from 127\.0\.0\.4/);
  const other = await RawSmtp.open(port, '127.0.0.5');
  t.match(await other.reply(), /^220 /, 'another client still gets in');
  for (const x of [a, b, c, other]) x.close();
});
