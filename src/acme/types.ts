// What an ACME order is given and gives back, and how it fails: shared by the firmware, which never
// loads acme-client itself, and the child process that does (src/acme/worker.ts, client.ts).
import type { TlsFiles } from '../tls/certificate.ts';

export type AcmeErrorKind = 'rate-limited' | 'challenge' | 'garbage' | 'unreachable' | 'refused';

/** A failed ACME step: what to log and put in the alert, and what the CA asked for. */
export class AcmeError extends Error {
  override readonly name = 'AcmeError';
  readonly kind: AcmeErrorKind;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, kind: AcmeErrorKind, retryAfterMs?: number) {
    super(message);
    this.kind = kind;
    this.retryAfterMs = retryAfterMs;
  }
}

export type ChallengeType = 'http-01' | 'tls-alpn-01' | 'dns-01';

/** A challenge as the CA sent it (RFC 8555 §8): what a solver needs of it. */
export interface Challenge {
  type: string;
  url: string;
  status: string;
  token: string;
}

/** Makes a challenge answerable, and takes it down again (RFC 8555 §8). */
export interface ChallengeSolver {
  readonly type: ChallengeType;
  /** `alpn`: the RFC 8737 certificate, for tls-alpn-01. */
  prepare(name: string, challenge: Challenge, keyAuthorization: string, authz?: unknown, alpn?: TlsFiles): Promise<void>;
  cleanup(name: string, challenge: Challenge, keyAuthorization: string): Promise<void>;
}

export interface OrderOptions {
  directory: string;
  accountKey: Buffer;
  accountUrl: string | undefined;
  email: string;
  names: readonly string[];
  keyType: 'rsa2048' | 'ecdsa-p256';
  solver: ChallengeSolver;
  /** `ca` for the requests: Node's roots plus tls.extraRoots. */
  roots: string[];
}

export interface Issued extends TlsFiles {
  accountUrl: string;
}

/** An account key (ECDSA P-256, PKCS #8 PEM), made without acme-client. */
export async function newAccountKey(): Promise<Buffer> {
  const { generateKeyPairSync } = await import('node:crypto');
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  return Buffer.from(privateKey);
}
