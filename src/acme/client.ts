// One ACME order (RFC 8555 §7.4) or revocation (§7.6) through acme-client, the library that
// speaks the protocol (JWS, nonces, polling). What we add: bounds on every request (timeout,
// size, no redirects), our trust roots, no retry loops hidden inside a request (our scheduler
// retries, and honours the CA's Retry-After), and errors that say which step failed and why —
// the CA's problem document (type, detail) when there is one, "answered garbage" when there is
// none. Loaded only when an order is due: acme-client brings axios, node-forge and @peculiar/x509.
import { createRequire } from 'node:module';
import type * as AcmeClient from 'acme-client';
import type { Authorization } from 'acme-client';
import type { TlsFiles } from '../tls/certificate.ts';
import { AcmeError, type ChallengeSolver, type Issued, type OrderOptions } from './types.ts';

// Required, as nodemailer is in src/outbound/transaction.ts: acme-client is CommonJS.
const acme = createRequire(import.meta.url)('acme-client') as typeof AcmeClient;

const REQUEST_TIMEOUT_MS = 30_000;
const MAX_BODY = 1024 * 1024;

// Once per process: acme-client's axios instance is shared by every Client.
acme.axios.defaults.timeout = REQUEST_TIMEOUT_MS;
acme.axios.defaults.maxContentLength = MAX_BODY;
acme.axios.defaults.maxBodyLength = MAX_BODY;
acme.axios.defaults.maxRedirects = 0;
// No waiting inside a request: a 429 with "Retry-After: 3600" would hold the order for an hour.
(acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;

// With no retries, acme-client's error interceptor turns a request that got no response at all
// (connection refused, timeout) into a TypeError. A handler put in front of it keeps the cause.
let lastNetworkError: { url: string; code: string; message: string } | null = null;
{
  const handlers = (acme.axios.interceptors.response as unknown as { handlers?: unknown[] }).handlers;
  const recorder = {
    fulfilled: null,
    rejected: (err: { code?: string; message?: string; response?: unknown; config?: { url?: string } }) => {
      if (!err.response) lastNetworkError = { url: String(err.config?.url ?? ''), code: err.code ?? 'ERROR', message: err.message ?? String(err) };
      return Promise.reject(err);
    },
    synchronous: false,
    runWhen: null,
  };
  if (Array.isArray(handlers)) handlers.unshift(recorder);
}

/** What the last refused request said (RFC 8555 §6.7 problem document, or what came instead). */
interface Answer {
  url: string;
  status: number;
  type?: string;
  detail?: string;
  retryAfterMs?: number;
  garbage?: string;
}

let lastProblem: Answer | null = null;
acme.axios.interceptors.response.use((resp) => {
  const type = String(resp.headers['content-type'] ?? '');
  const url = String(resp.config.url ?? '');
  const data = resp.data as unknown;
  const jsonExpected = !/\/cert\//.test(url) && resp.config.method !== 'head';
  if (resp.status >= 400) {
    const problem = typeof data === 'object' && data !== null ? (data as { type?: unknown; detail?: unknown }) : {};
    lastProblem = {
      url,
      status: resp.status,
      ...(typeof problem.type === 'string' ? { type: problem.type } : {}),
      ...(typeof problem.detail === 'string' ? { detail: problem.detail } : {}),
      ...(retryAfter(resp.headers['retry-after']) !== undefined ? { retryAfterMs: retryAfter(resp.headers['retry-after'])! } : {}),
      ...(typeof data !== 'object' || data === null ? { garbage: `HTTP ${resp.status} ${type || 'without a type'}` } : {}),
    };
  } else if (jsonExpected && (typeof data !== 'object' || data === null) && resp.status !== 204) {
    lastProblem = { url, status: resp.status, garbage: `HTTP ${resp.status} ${type || 'without a type'}: ${String(data).slice(0, 60).replace(/\s+/g, ' ')}` };
  }
  return resp;
});

function retryAfter(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export { AcmeError, type AcmeErrorKind, type Challenge, type ChallengeSolver, type ChallengeType, type Issued, type OrderOptions } from './types.ts';

function configure(roots: string[]): void {
  const { Agent } = process.getBuiltinModule('node:https');
  acme.axios.defaults.httpsAgent = new Agent({ ca: roots, keepAlive: false });
  lastProblem = null;
  lastNetworkError = null;
}

function client(o: Pick<OrderOptions, 'directory' | 'accountKey' | 'accountUrl'>): AcmeClient.Client {
  return new acme.Client({
    directoryUrl: o.directory,
    accountKey: o.accountKey,
    ...(o.accountUrl ? { accountUrl: o.accountUrl } : {}),
    backoffAttempts: 12,
    backoffMin: 1000,
    backoffMax: 10_000,
  });
}

/** Place an order for `names`, answer its challenges with `solver`, and return the chain and key. */
export async function order(o: OrderOptions, step: (what: string) => void = () => undefined): Promise<Issued> {
  configure(o.roots);
  const c = client(o);
  const key = o.keyType === 'rsa2048' ? await acme.crypto.createPrivateRsaKey(2048) : await acme.crypto.createPrivateEcdsaKey('P-256');
  const [, csr] = await acme.crypto.createCsr({ commonName: o.names[0]!, altNames: [...o.names] }, key);
  try {
    step('account');
    // A known account is used as it is (RFC 8555 §7.3: an update without changes is refused).
    if (!o.accountUrl) await c.createAccount({ termsOfServiceAgreed: true, ...(o.email ? { contact: [`mailto:${o.email}`] } : {}) });
    const accountUrl = c.getAccountUrl();
    step('order');
    const placed = await c.createOrder({ identifiers: o.names.map((value) => ({ type: 'dns', value })) });
    const authorizations = await c.getAuthorizations(placed);
    for (const authz of authorizations) {
      if (authz.status === 'valid') continue;
      const name = authz.identifier.value;
      const challenge = authz.challenges.find((ch) => ch.type === o.solver.type);
      if (!challenge) throw new AcmeError(`the CA offers no ${o.solver.type} challenge for ${name} (it offers ${authz.challenges.map((ch) => ch.type).join(', ')})`, 'refused');
      const keyAuthorization = await c.getChallengeKeyAuthorization(challenge);
      step(`challenge ${name}`);
      const alpn = o.solver.type === 'tls-alpn-01' ? await alpnCertificate(authz, keyAuthorization) : undefined;
      await o.solver.prepare(name, challenge, keyAuthorization, authz, alpn);
      try {
        await c.completeChallenge(challenge);
        await c.waitForValidStatus(challenge).catch((err: Error) => {
          throw new AcmeError(`${o.solver.type} challenge for ${name} failed: ${err.message}`, 'challenge');
        });
      } finally {
        await o.solver.cleanup(name, challenge, keyAuthorization).catch(() => undefined);
      }
    }
    step('finalize');
    const finalized = await c.finalizeOrder(placed, csr);
    const valid = finalized.status === 'valid' ? finalized : await c.waitForValidStatus(finalized);
    const cert = await c.getCertificate(valid);
    if (!/^-----BEGIN CERTIFICATE-----/.test(cert.trim())) throw new AcmeError('the CA sent something that is not a PEM certificate chain', 'garbage');
    return { cert: Buffer.from(cert), key, accountUrl };
  } catch (err) {
    throw explain(err as Error);
  }
}

/** Revoke `cert` with the account key (RFC 8555 §7.6); reason 4 is "superseded", 1 "keyCompromise". */
export async function revoke(o: Pick<OrderOptions, 'directory' | 'accountKey' | 'accountUrl' | 'roots'>, cert: Buffer, reason = 0): Promise<void> {
  configure(o.roots);
  try {
    await client(o).revokeCertificate(cert, { reason });
  } catch (err) {
    throw explain(err as Error);
  }
}

/** Our error for a failed step: the problem the CA sent, or what was wrong with its answer. */
function explain(err: Error): AcmeError {
  if (err instanceof AcmeError) return err;
  const p = lastProblem;
  const network = lastNetworkError as { url: string; code: string; message: string } | null;
  if (network && (!p || err instanceof TypeError)) return new AcmeError(`cannot reach the ACME server: ${network.code} ${network.message} (${network.url})`, 'unreachable');
  const code = (err as { code?: string }).code;
  if (p?.status === 429 || p?.type === 'urn:ietf:params:acme:error:rateLimited') {
    const after = p.retryAfterMs !== undefined ? `; the CA asks to retry after ${Math.round(p.retryAfterMs / 1000)} s` : '';
    return new AcmeError(`rate limited by the CA: ${p.detail ?? `HTTP ${p.status}`}${after}`, 'rate-limited', p.retryAfterMs);
  }
  if (p?.garbage) return new AcmeError(`the ACME server answered garbage (${p.garbage} from ${p.url}): ${err.message}`, 'garbage');
  if (p?.type) return new AcmeError(`the CA refused: ${p.type.replace('urn:ietf:params:acme:error:', '')}: ${p.detail ?? err.message}`, 'refused', p.retryAfterMs);
  if (code && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|ECONNABORTED|EHOSTUNREACH|ENETUNREACH|ERR_TLS|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO|CERT_)/.test(code)) {
    return new AcmeError(`cannot reach the ACME directory: ${code} ${err.message}`, 'unreachable');
  }
  if (/Unable to locate API resource|returned no data|Failed to get nonce|Unexpected token|is not valid JSON|Cannot read prop|undefined/.test(err.message)) {
    return new AcmeError(`the ACME server answered garbage: ${err.message}`, 'garbage');
  }
  return new AcmeError(err.message, 'refused');
}

/** The RFC 8737 certificate for a TLS-ALPN-01 challenge. */
export async function alpnCertificate(authz: Authorization, keyAuthorization: string): Promise<TlsFiles> {
  const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
  return { key, cert };
}
