// For peers that take a fixed port (mosquitto, clamd, Postfix, Dovecot, Haraka): take an ephemeral
// port from the kernel, free it, hand it over. The race with other users of the machine is small.
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

/** A free port that is none of `taken` (ports handed out but not bound yet). */
export async function freePortBut(taken: readonly number[]): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (!taken.includes(port)) return port;
  }
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) out.push(await freePortBut(out));
  return out;
}
