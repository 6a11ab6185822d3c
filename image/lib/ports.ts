// For peers that take a fixed port (mosquitto, clamd, Postfix, Dovecot, Haraka): take an ephemeral
// port from the kernel, free it, hand it over. The race with other users of the machine is small.
// Here so the image's tests can use it too (test/support/ports.ts passes it on to the tests).
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
