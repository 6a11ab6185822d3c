// For peers that take a fixed port (mosquitto, clamd, Postfix, Dovecot, Haraka): one freePort for
// the tests, the bench and the image's tests (image/lib/ports.ts), and ports handed out together.
import { freePort } from '../../image/lib/ports.ts';

export { freePort };

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
