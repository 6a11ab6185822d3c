// TLS on an accepted TCP connection, as server: used right away for POP3S (RFC 8314 implicit TLS)
// and after "+OK" to STLS (RFC 2595 §4). One function serves both, so both get the same checks.
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';

/** Resolves with the encrypted socket once the handshake is done; rejects (and destroys) on failure or timeout. */
export function startTls(raw: Socket, context: SecureContext, timeoutMs: number): Promise<TLSSocket> {
  // The plain socket's own idle timer would keep running underneath TLS: the caller sets one on the result.
  raw.setTimeout(0);
  return new Promise((resolve, reject) => {
    const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
    const fail = (err: Error) => {
      clearTimeout(timer);
      secure.destroy();
      raw.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('TLS handshake timed out')), timeoutMs);
    secure.once('error', fail);
    // A client that leaves mid-handshake must not hold the session until the timeout.
    const gone = () => fail(new Error('connection closed during the TLS handshake'));
    raw.once('close', gone);
    secure.once('secure', () => {
      clearTimeout(timer);
      secure.off('error', fail);
      raw.off('close', gone);
      resolve(secure);
    });
  });
}
