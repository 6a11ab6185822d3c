// POP-before-SMTP end to end (docs/REQUIREMENTS.md §1 ②): after a POP3 login from 127.0.0.5 that address may relay
// through the MTA for the lease time, and not after; another address never could.
import t from 'tap';
import { startInProcess } from '../support/firmware.ts';
import { RawSmtp, run } from '../support/clients.ts';

t.test('a POP3 login lets its address relay for the lease time only', async (t) => {
  const fw = await startInProcess(t, { 'pop3.popBeforeSmtpSeconds': 2, 'pop3.allowCleartext': true }, [{ name: 'alice', password: 'alice-password-1' }]);
  const smtp = fw.smtp.ports().mta!;
  const pop3 = fw.pop3.ports().pop3!;

  const relayFrom = async (address: string) => {
    const c = await RawSmtp.open(smtp, address);
    await c.reply();
    await c.command('EHLO laptop.example');
    await c.command('MAIL FROM:<alice@yubin.test>');
    const reply = await c.command('RCPT TO:<friend@foreign.example>');
    c.close();
    return reply;
  };

  t.match(await relayFrom('127.0.0.5'), /^554 5\.7\.1 /, 'no relay before the POP3 login');
  const login = await run('curl', ['-s', '--interface', '127.0.0.5', '--user', 'alice:alice-password-1', `pop3://127.0.0.1:${pop3}/`]);
  t.equal(login.code, 0, 'curl logged in over POP3 from 127.0.0.5: ' + login.stderr);
  t.match(await relayFrom('127.0.0.5'), /^250 /, 'relay allowed during the lease');
  t.match(await relayFrom('127.0.0.6'), /^554 5\.7\.1 /, 'another address still may not relay');
  await new Promise((r) => setTimeout(r, 2200));
  t.match(await relayFrom('127.0.0.5'), /^554 5\.7\.1 /, 'relay refused again after the lease');
});
