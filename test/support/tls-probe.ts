// What certificate a listener presents, as a validating client sees it: implicit TLS (465, 995,
// HTTPS) or after STARTTLS (SMTP, RFC 3207) / STLS (POP3, RFC 2595). The handshake validates
// against `ca` and the server name, as a mail client or an MTA-STS sender would.
import { connect as tcp, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket, type PeerCertificate } from 'node:tls';

export interface Presented {
  serial: string;
  issuer: string;
  names: string[];
  /** The chain validated against `ca` and matched `servername`. */
  authorized: boolean;
  error: string | null;
}

function readUntil(socket: Socket, done: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => finish(new Error(`no reply in time; got ${JSON.stringify(text)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      if (done(text)) finish(null);
    };
    const onEnd = () => finish(new Error(`connection closed; got ${JSON.stringify(text)}`));
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', finish);
      if (err) reject(err);
      else resolve(text);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', finish);
  });
}

const lastLine = (re: RegExp) => (text: string) => re.test(text);

export async function presented(port: number, how: 'implicit' | 'smtp' | 'pop3', o: { servername: string; ca: string | string[]; host?: string }): Promise<Presented> {
  const host = o.host ?? '127.0.0.1';
  let raw: Socket | undefined;
  if (how !== 'implicit') {
    raw = tcp({ host, port });
    await new Promise<void>((resolve, reject) => {
      raw!.once('connect', resolve);
      raw!.once('error', reject);
    });
    if (how === 'smtp') {
      await readUntil(raw, lastLine(/^220 .*\r\n/m));
      raw.write('EHLO probe.test\r\n');
      const ehlo = await readUntil(raw, lastLine(/^250 .*\r\n/m));
      if (!/STARTTLS/.test(ehlo)) throw new Error(`no STARTTLS offered: ${ehlo}`);
      raw.write('STARTTLS\r\n');
      await readUntil(raw, lastLine(/^220 .*\r\n/m));
    } else {
      await readUntil(raw, lastLine(/^\+OK.*\r\n/));
      raw.write('STLS\r\n');
      await readUntil(raw, lastLine(/^\+OK.*\r\n/m));
    }
  }
  const socket: TLSSocket = tlsConnect({
    ...(raw ? { socket: raw } : { host, port }),
    servername: o.servername,
    ca: o.ca,
    rejectUnauthorized: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const cert: PeerCertificate = socket.getPeerCertificate();
  const out: Presented = {
    serial: cert.serialNumber.toUpperCase(),
    issuer: String(cert.issuer?.CN ?? ''),
    names: (cert.subjectaltname ?? '').split(/,\s*/).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)),
    authorized: socket.authorized,
    error: socket.authorizationError ? String(socket.authorizationError) : null,
  };
  // A polite close: the server sees a finished handshake, not a client that vanished in it.
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
  });
  return out;
}
