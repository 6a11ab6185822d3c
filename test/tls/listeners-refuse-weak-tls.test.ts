// Every TLS listener (25 and 587 after STARTTLS, 465, 110 after STLS, 995) speaks the one profile of
// src/tls/profile.ts: openssl s_client as the client, each refusal checked by the alert the server sent.
import t from 'tap';
import { spawn } from 'node:child_process';
import { startInProcess } from '../support/firmware.ts';
import { tlsListeners, type TlsListener } from './listeners.ts';

interface Outcome {
  code: number | null;
  /** s_client -brief writes the handshake summary and every error to stderr. */
  stderr: string;
}

/** One s_client connection; with `renegotiate`, it asks for a renegotiation ("R") once TLS is up. */
function sClient(listener: TlsListener, args: string[], options: { renegotiate?: boolean } = {}): Promise<Outcome> {
  const starttls = listener.starttls ? ['-starttls', listener.starttls] : [];
  const child = spawn('openssl', ['s_client', '-brief', '-connect', `127.0.0.1:${listener.port}`, ...starttls, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  let asked = false;
  // A renegotiation the server accepts leaves s_client running: it is closed after a while.
  const hangUp = setTimeout(() => child.stdin.end(), 5_000);
  const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (options.renegotiate && !asked && stderr.includes('CONNECTION ESTABLISHED')) {
      asked = true;
      child.stdin.write('R\n');
    }
  });
  if (!options.renegotiate) child.stdin.end();
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(hangUp);
      clearTimeout(kill);
      resolve({ code, stderr });
    });
  });
}

const negotiated = (o: Outcome) => ({
  protocol: /^Protocol version: (\S+)$/m.exec(o.stderr)?.[1] ?? null,
  cipher: /^Ciphersuite: (\S+)$/m.exec(o.stderr)?.[1] ?? null,
});

const fw = await startInProcess(t);

for (const listener of tlsListeners(fw)) {
  t.test(`${listener.name}: TLS 1.3 by default, and the server's choice of suite under TLS 1.2`, async (t) => {
    const plain = await sClient(listener, []);
    t.same(negotiated(plain), { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' }, 'TLS 1.3', { stderr: plain.stderr });
    // The client prefers ChaCha20; with server order, the profile's first TLS 1.2 suite wins.
    const tls12 = await sClient(listener, ['-tls1_2', '-cipher', 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256']);
    t.same(negotiated(tls12), { protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' }, 'server order', { stderr: tls12.stderr });
  });

  t.test(`${listener.name}: refuses a client-initiated renegotiation`, async (t) => {
    const o = await sClient(listener, ['-tls1_2'], { renegotiate: true });
    // (s_client writes the server's last line without its line end, so RENEGOTIATING may follow it.)
    t.match(o.stderr, /RENEGOTIATING$/m, 'the client asked for it', { stderr: o.stderr });
    t.match(o.stderr, /:no renegotiation:/, 'the server answered no_renegotiation', { stderr: o.stderr });
  });

  t.test(`${listener.name}: refuses TLS 1.1, a CBC suite and a static-RSA suite`, async (t) => {
    // OpenSSL 3 offers TLS 1.1 only at security level 0; the alert shows the server said no.
    const tls11 = await sClient(listener, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    t.match(tls11.stderr, /alert protocol version/, 'TLS 1.1: protocol_version alert', { stderr: tls11.stderr });
    // ECDHE key exchange but CBC (offered before the profile, LUCKY13).
    const cbc = await sClient(listener, ['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-SHA256']);
    t.match(cbc.stderr, /alert handshake failure/, 'CBC: handshake_failure alert', { stderr: cbc.stderr });
    // AEAD but static RSA key exchange (no forward secrecy).
    const rsa = await sClient(listener, ['-tls1_2', '-cipher', 'AES128-GCM-SHA256']);
    t.match(rsa.stderr, /alert handshake failure/, 'static RSA: handshake_failure alert', { stderr: rsa.stderr });
    for (const o of [tls11, cbc, rsa]) t.same(negotiated(o), { protocol: null, cipher: null }, 'nothing negotiated');
  });
}
