// One ACME order from start to the files on disk, shared by the running firmware (src/acme/
// service.ts, which then serves the result) and `yubin acme renew` in the console flow of DNS-01
// (which may run in another process: the firmware picks the new files up within seconds).
import type { Context } from '../context.ts';
import { checkPair, type CertificateFacts } from '../tls/store.ts';
import { trustedRoots } from '../tls/trust.ts';
import type { TlsFiles } from '../tls/certificate.ts';
import type { AcmeStorage } from './storage.ts';
import { certificateNames, covers } from './names.ts';
import { newAccountKey, type ChallengeSolver, type Issued, type OrderOptions } from './types.ts';

export function wantedNames(ctx: Context): { names: string[]; skipped: string[] } {
  const s = ctx.store.settings;
  return certificateNames({ hostname: s.hostname, domains: s.domains, mtastsMode: s['mtasts.mode'], extra: s['acme.names'] });
}

/** Order a certificate for the wanted names, check it, and store it durably with the state. */
/** Places the order: in a child process from the firmware (src/acme/worker.ts), in this one from the CLI. */
export type Placer = (o: OrderOptions, step: (what: string) => void) => Promise<Issued>;

export async function issueCertificate(ctx: Context, storage: AcmeStorage, solver: ChallengeSolver, why: string, progress: { step: string }, place?: Placer): Promise<{ files: TlsFiles; facts: CertificateFacts }> {
  const s = ctx.store.settings;
  const { names, skipped } = wantedNames(ctx);
  if (names.length === 0) throw new Error(`no public name to certify (${skipped.join(', ')} cannot have a public certificate): set hostname to the board's name in DNS`);
  if (skipped.length > 0) ctx.log.log('warn', 'acme: names left off the certificate (not public)', { skipped });
  ctx.log.log('info', 'acme: ordering a certificate', { names, why, directory: s['acme.directory'], challenge: solver.type });
  await storage.init();
  const order = place ?? (await import('./client.ts')).order;
  const accountKey = await storage.accountKey(newAccountKey);
  const accountUrl = await storage.accountUrl(s['acme.directory']);
  const issued = await order({
    directory: s['acme.directory'],
    accountKey,
    accountUrl,
    email: s['acme.email'],
    names,
    keyType: s['acme.keyType'],
    solver,
    roots: trustedRoots(s['tls.extraRoots']),
  }, (what) => (progress.step = what));
  if (issued.accountUrl !== accountUrl) await storage.saveAccountUrl(s['acme.directory'], issued.accountUrl);
  progress.step = 'install';
  const facts = checkPair(issued);
  if (!covers(facts.names, names)) throw new Error(`the CA issued a certificate for ${facts.names.join(', ')}, not for every name asked (${names.join(', ')})`);
  const files = { cert: issued.cert, key: issued.key };
  await storage.saveLive(files);
  await storage.saveState({ failures: 0, lastAttempt: Date.now(), lastResult: 'issued', serial: facts.serial });
  return { files, facts };
}
