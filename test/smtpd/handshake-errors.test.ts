// A client whose TLS handshake fails is the client's problem, told once: one info line per failed
// handshake (smtp-server reported a STARTTLS failure twice, as a listener error).
import t from 'tap';
import { connect } from 'node:net';
import { tempDir, seed, startChild, BASE_SETTINGS } from '../support/firmware.ts';

t.test('a failed handshake is logged once, as the client\'s error', async (t) => {
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, 'smtp.greetingDelay': 0 });
  const fw = await startChild(dataDir);
  t.teardown(() => fw.child.kill('SIGKILL'));
  const garbageAfterStarttls = () => new Promise<void>((resolve) => {
    const s = connect(fw.ports.smtp!, '127.0.0.1');
    let stage = 0;
    s.on('data', (d: Buffer) => {
      const text = d.toString();
      if (stage === 0 && /^220 /m.test(text)) (stage = 1, s.write('EHLO x\r\nSTARTTLS\r\n'));
      else if (stage === 1 && /^220 .*TLS/im.test(text)) (stage = 2, s.write('not a TLS record\r\n'));
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    setTimeout(() => s.destroy(), 2000);
  });
  const garbageOnImplicit = () => new Promise<void>((resolve) => {
    const s = connect(fw.ports.smtps!, '127.0.0.1', () => s.write('GARBAGE\r\n'));
    s.on('error', () => undefined);
    s.on('close', () => resolve());
    setTimeout(() => s.destroy(), 2000);
  });
  await garbageAfterStarttls();
  await garbageOnImplicit();
  await new Promise((r) => setTimeout(r, 300));
  const lines = fw.stderr().split('\n').filter((l) => /error/i.test(l));
  t.equal(lines.filter((l) => /info smtp client connection error listener="mta"/.test(l)).length, 1, 'STARTTLS failure: one line');
  t.equal(lines.filter((l) => /info smtp client connection error listener="smtps"/.test(l)).length, 1, 'implicit TLS failure: one line');
  t.same(lines.filter((l) => /smtp listener error/.test(l)), [], 'no listener error');
});
