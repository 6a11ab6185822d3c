// acme status|renew|revoke: the board's certificate, for the CLI and the console. renew and
// revoke ask the running firmware through DATA/acme/request.json (it looks every 5 s) and wait
// for its answer in state.json. DNS-01 without an RFC 2136 server is the exception: renew runs
// the order right here, printing the TXT records to publish and waiting until they are visible.
import { readFile } from 'node:fs/promises';
import { AcmeStorage, type AcmeState } from '../../src/acme/storage.ts';
import { wantedNames, issueCertificate } from '../../src/acme/issue.ts';
import { describeCertificate, servingCertificate } from '../../src/tls/store.ts';
import { renewAt } from '../../src/acme/schedule.ts';
import { positionals } from './options.ts';
import type { Command, CommandEnv } from './types.ts';

const ANSWER_WAIT_MS = 180_000;

function formatState(state: AcmeState): string[] {
  const lines: string[] = [];
  if (state.lastAttempt) lines.push(`last attempt: ${new Date(state.lastAttempt).toISOString()} ${state.lastResult ?? ''}${state.lastError && state.lastResult === 'failed' ? `: ${state.lastError}` : ''}`);
  if (state.lastResult === 'failed' && state.nextAttempt) lines.push(`next attempt: ${new Date(state.nextAttempt).toISOString()} (${state.failures} failed in a row)`);
  return lines;
}

async function status(env: CommandEnv): Promise<string> {
  const s = env.ctx.store.settings;
  const storage = new AcmeStorage(env.ctx.dataDir);
  const served = await servingCertificate(env.ctx.dataDir, s['tls.cert'], s['tls.key'], s.hostname);
  const facts = describeCertificate(served.files.cert);
  const { names, skipped } = wantedNames(env.ctx);
  const lines = [
    `certificate: ${served.source}, ${facts.names.join(', ')}; issuer ${facts.issuer}; serial ${facts.serial}`,
    `valid: ${facts.notBefore.toISOString()} to ${facts.notAfter.toISOString()}`,
    `acme: ${s['acme.enabled'] ? 'on' : 'off'} (${s['acme.challenge']} at ${s['acme.directory']})`,
    `names wanted: ${names.join(', ') || 'none'}${skipped.length > 0 ? `; left off (not public): ${skipped.join(', ')}` : ''}`,
  ];
  if (served.source === 'acme') lines.push(`renewal due: ${new Date(renewAt(facts.notBefore, facts.notAfter)).toISOString()} (two thirds of the lifetime)`);
  lines.push(...formatState(await storage.state()));
  return lines.join('\n') + '\n';
}

/** Wait for the running firmware to record an attempt made after `since`. */
async function answer(storage: AcmeStorage, since: number): Promise<AcmeState | null> {
  const until = Date.now() + ANSWER_WAIT_MS;
  while (Date.now() < until) {
    const state = await storage.state();
    if ((state.lastAttempt ?? 0) >= since && state.lastResult !== 'revoked') return state;
    await new Promise((r) => setTimeout(r, 500));
  }
  return null;
}

async function ask(env: CommandEnv, action: 'renew' | 'revoke'): Promise<number> {
  const storage = new AcmeStorage(env.ctx.dataDir);
  await storage.init();
  const since = Date.now();
  await storage.request(action);
  env.out.write(`${action} asked of the running firmware; waiting for its answer (up to ${ANSWER_WAIT_MS / 1000} s)\n`);
  const state = await answer(storage, since);
  if (!state) {
    env.out.write('no answer: is Yubin running with acme.enabled? The request stays until it is.\n');
    return 1;
  }
  if (state.lastResult === 'issued') {
    const live = await storage.liveFiles();
    const facts = live ? describeCertificate(live.cert) : null;
    env.out.write(`${action === 'revoke' ? 'revoked; ' : ''}new certificate issued${facts ? `: serial ${facts.serial}, valid until ${facts.notAfter.toISOString()}` : ''}\n`);
    return 0;
  }
  env.out.write(`failed: ${state.lastError ?? 'unknown'}\n`);
  return 1;
}

export const acmeCommand: Command = {
  name: 'acme',
  summary: 'the board\'s certificate from an ACME CA: status, renew, revoke',
  subcommands: [
    {
      name: 'status',
      summary: 'the certificate served, the names wanted, the last and next order',
      usage: 'acme status',
      async run(args, env) {
        positionals(args, 0, 'acme status');
        env.out.write(await status(env));
        return 0;
      },
    },
    {
      name: 'renew',
      summary: 'order a certificate now (dns-01 without acme.dnsServer: prints the TXT records to publish and waits for them)',
      usage: 'acme renew',
      async run(args, env) {
        positionals(args, 0, 'acme renew');
        const s = env.ctx.store.settings;
        if (s['acme.challenge'] !== 'dns-01' || s['acme.dnsServer'] !== '') return ask(env, 'renew');
        const { consoleSolver } = await import('../../src/acme/dns01.ts');
        const storage = new AcmeStorage(env.ctx.dataDir);
        const progress = { step: 'start' };
        try {
          const { facts } = await issueCertificate(env.ctx, storage, consoleSolver(env.ctx, (text) => env.out.write(text)), 'asked for at the console (dns-01)', progress);
          env.out.write(`certificate issued: ${facts.names.join(', ')}, serial ${facts.serial}, valid until ${facts.notAfter.toISOString()}; the running firmware serves it within seconds\n`);
          return 0;
        } catch (err) {
          const state = await storage.state();
          await storage.saveState({ ...state, failures: state.failures + 1, lastAttempt: Date.now(), lastResult: 'failed', lastError: (err as Error).message });
          env.out.write(`failed at ${progress.step}: ${(err as Error).message}\n`);
          return 1;
        }
      },
    },
    {
      name: 'revoke',
      summary: 'revoke the served certificate (a key that may have leaked); a new one is ordered at once',
      usage: 'acme revoke',
      async run(args, env) {
        positionals(args, 0, 'acme revoke');
        const live = await readFile(new AcmeStorage(env.ctx.dataDir).live.cert).catch(() => null);
        if (!live) {
          env.out.write('no ACME certificate in DATA/acme/live: nothing to revoke\n');
          return 1;
        }
        return ask(env, 'revoke');
      },
    },
  ],
};
