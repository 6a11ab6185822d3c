// ACME orders run in a child process (`yubin acme-worker`, spawned with the firmware's own Node,
// flags and entry): acme-client with axios, node-forge and @peculiar/x509 costs ~24 MiB of RSS
// once loaded, and a board would carry it for the 60 days between renewals. The child speaks
// ACME; the firmware keeps what must live in it: the web listener that answers HTTP-01 and
// TLS-ALPN-01, the DNS-01 solvers, the files and the certificate store. They talk over Node's IPC
// channel: the child asks for each challenge to be made answerable and taken down again.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TlsFiles } from '../tls/certificate.ts';
import { AcmeError, type AcmeErrorKind, type ChallengeSolver, type Issued, type OrderOptions } from './types.ts';

/** The longest an order may take in the child (polling included) before it is killed. */
const ORDER_TIMEOUT_MS = 10 * 60_000;

type Wire = { type: 'order'; options: Omit<OrderOptions, 'solver' | 'accountKey'> & { accountKey: string; solverType: ChallengeSolver['type'] } }
  | { type: 'revoke'; options: Pick<OrderOptions, 'directory' | 'accountUrl' | 'roots'> & { accountKey: string; cert: string; reason: number } }
  | { type: 'answer'; id: number; error?: string };

type FromChild = { type: 'step'; what: string }
  | { type: 'prepare' | 'cleanup'; id: number; name: string; token: string; keyAuthorization: string; alpn?: { key: string; cert: string } }
  | { type: 'done'; cert?: string; key?: string; accountUrl?: string }
  | { type: 'failed'; message: string; kind: AcmeErrorKind; retryAfterMs?: number };

/** How the firmware starts itself: the running entry (yubin.mjs or yubin.ts), else the sources'. */
export function workerCommand(): string[] {
  const entry = process.argv[1] && /yubin\.(mjs|ts)$/.test(process.argv[1]) ? process.argv[1] : fileURLToPath(new URL('../../firmware/yubin.ts', import.meta.url));
  return [process.execPath, ...process.execArgv.filter((a) => a.startsWith('--max-')), entry, 'acme-worker'];
}

function runChild(first: Wire, solver: ChallengeSolver | null, step: (what: string) => void): Promise<FromChild & { type: 'done' }> {
  const [command, ...args] = workerCommand() as [string, ...string[]];
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: process.env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, done?: FromChild & { type: 'done' }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(done!);
    };
    const timer = setTimeout(() => finish(new AcmeError(`the order did not end within ${ORDER_TIMEOUT_MS / 60_000} minutes`, 'unreachable')), ORDER_TIMEOUT_MS);
    timer.unref();
    child.on('message', (m: FromChild) => {
      if (m.type === 'step') return step(m.what);
      if (m.type === 'done') return finish(null, m);
      if (m.type === 'failed') return finish(new AcmeError(m.message, m.kind, m.retryAfterMs));
      const alpn: TlsFiles | undefined = m.alpn ? { key: Buffer.from(m.alpn.key), cert: Buffer.from(m.alpn.cert) } : undefined;
      const challenge = { type: solver!.type, token: m.token, url: '', status: 'pending' };
      const work = m.type === 'prepare' ? solver!.prepare(m.name, challenge, m.keyAuthorization, undefined, alpn) : solver!.cleanup(m.name, challenge, m.keyAuthorization);
      work.then(
        () => child.send({ type: 'answer', id: m.id } satisfies Wire),
        (err: Error) => child.send({ type: 'answer', id: m.id, error: err.message } satisfies Wire),
      );
    });
    child.once('error', (err) => finish(new AcmeError(`cannot start the ACME worker: ${err.message}`, 'refused')));
    child.once('exit', (code, signal) => finish(new AcmeError(`the ACME worker ended (${signal ?? `exit ${code}`}) without an answer: ${stderr.trim().split('\n').pop() ?? ''}`, 'refused')));
    child.send(first);
  });
}

/** An order placed by the child, its challenges answered here by `solver`. */
export async function orderInChild(o: OrderOptions, step: (what: string) => void = () => undefined): Promise<Issued> {
  const { solver, accountKey, ...rest } = o;
  const done = await runChild({ type: 'order', options: { ...rest, accountKey: accountKey.toString(), solverType: solver.type } }, solver, step);
  return { cert: Buffer.from(done.cert!), key: Buffer.from(done.key!), accountUrl: done.accountUrl! };
}

export async function revokeInChild(o: Pick<OrderOptions, 'directory' | 'accountKey' | 'accountUrl' | 'roots'>, cert: Buffer, reason = 0): Promise<void> {
  await runChild({ type: 'revoke', options: { directory: o.directory, accountUrl: o.accountUrl, roots: o.roots, accountKey: o.accountKey.toString(), cert: cert.toString(), reason } }, null, () => undefined);
}

/** The child's side: `yubin acme-worker`. */
export async function workerMain(): Promise<void> {
  if (!process.send) throw new Error('acme-worker runs only as the firmware\'s child (no IPC channel)');
  const send = (m: FromChild) => process.send!(m);
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let next = 0;
  const ask = (m: Omit<FromChild & { type: 'prepare' | 'cleanup' }, 'id'>) =>
    new Promise<void>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      send({ ...m, id } as FromChild);
    });
  const first = await new Promise<Wire>((resolve) => {
    process.on('message', (m: Wire) => {
      if (m.type !== 'answer') return resolve(m);
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.error) w?.reject(new Error(m.error));
      else w?.resolve();
    });
  });
  // The parent going away ends the child too.
  process.on('disconnect', () => process.exit(1));
  try {
    const client = await import('./client.ts');
    if (first.type === 'order') {
      const { solverType, accountKey, ...rest } = first.options;
      const proxy: ChallengeSolver = {
        type: solverType,
        prepare: (name, challenge, keyAuthorization, _authz, alpn) =>
          ask({ type: 'prepare', name, token: challenge.token, keyAuthorization, ...(alpn ? { alpn: { key: alpn.key.toString(), cert: alpn.cert.toString() } } : {}) }),
        cleanup: (name, challenge, keyAuthorization) => ask({ type: 'cleanup', name, token: challenge.token, keyAuthorization }),
      };
      const issued = await client.order({ ...rest, accountKey: Buffer.from(accountKey), solver: proxy }, (what) => send({ type: 'step', what }));
      send({ type: 'done', cert: issued.cert.toString(), key: issued.key.toString(), accountUrl: issued.accountUrl });
    } else if (first.type === 'revoke') {
      const { cert, reason, accountKey, ...rest } = first.options;
      await client.revoke({ ...rest, accountKey: Buffer.from(accountKey) }, Buffer.from(cert), reason);
      send({ type: 'done' });
    }
  } catch (err) {
    const e = err as AcmeError;
    send({ type: 'failed', message: e.message, kind: e.kind ?? 'refused', ...(e.retryAfterMs !== undefined ? { retryAfterMs: e.retryAfterMs } : {}) });
  }
  process.disconnect();
}
