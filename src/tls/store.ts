// The certificate every TLS listener serves (SMTP 25/587/465, POP3 110/995, the web listener's
// HTTPS), held in one place so that a new one (ACME issuance or renewal) reaches them all without
// a restart: listeners read the current SecureContext at each handshake, or rebuild theirs on
// `change`. A session already encrypted keeps the certificate it was opened with.
//
// Which certificate is served at start (servingCertificate): the admin's tls.cert/tls.key; else
// the last ACME certificate in DATA/acme/live while it is still valid; else the self-signed one in
// DATA/tls, made on first start (src/tls/certificate.ts) and kept as the fallback.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { loadCertificate, type TlsFiles } from './certificate.ts';

export type CertificateSource = 'configured' | 'acme' | 'self-signed';

export interface CertificateFacts {
  /** DNS names of the leaf certificate (subjectAltName, else the CN). */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  /** Hex serial, upper case, as openssl prints it. */
  serial: string;
  issuer: string;
  /** SHA-256 fingerprint of the leaf. */
  fingerprint: string;
}

export interface ServedCertificate extends TlsFiles, CertificateFacts {
  source: CertificateSource;
}

/** The leaf's facts; throws when the PEM is not a certificate. */
export function describeCertificate(certPem: Buffer | string): CertificateFacts {
  const leaf = new X509Certificate(certPem);
  const alt = (leaf.subjectAltName ?? '').split(/,\s*/).filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase());
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject)?.[1];
  return {
    names: alt.length > 0 ? alt : cn ? [cn.toLowerCase()] : [],
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    serial: leaf.serialNumber.toUpperCase(),
    issuer: leaf.issuer.replace(/\n/g, ', '),
    fingerprint: leaf.fingerprint256,
  };
}

/** Checks a key and chain belong together and can make a context; returns the leaf's facts. */
export function checkPair(files: TlsFiles): CertificateFacts {
  const facts = describeCertificate(files.cert);
  if (!new X509Certificate(files.cert).checkPrivateKey(createPrivateKey(files.key))) {
    throw new Error('the private key does not belong to the certificate');
  }
  createSecureContext({ cert: files.cert, key: files.key });
  return facts;
}

export interface CertificateStoreOptions {
  /** Everything a listener passes to tls.createSecureContext for these files (cipher profile
   * and all); key and cert alone by default. */
  contextOptions?: (files: TlsFiles) => SecureContextOptions;
}

export class CertificateStore {
  #current: ServedCertificate;
  #context: SecureContext | null = null;
  readonly #contextOptions: (files: TlsFiles) => SecureContextOptions;
  readonly #listeners = new Set<(served: ServedCertificate) => void>();

  constructor(files: TlsFiles, source: CertificateSource, options: CertificateStoreOptions = {}) {
    this.#contextOptions = options.contextOptions ?? ((f) => ({ cert: f.cert, key: f.key }));
    this.#current = { ...files, ...checkPair(files), source };
  }

  get current(): ServedCertificate {
    return this.#current;
  }

  /** Options for tls.createSecureContext or smtp-server's updateSecureContext. */
  contextOptions(): SecureContextOptions {
    return this.#contextOptions(this.#current);
  }

  /** The context for the next handshake (made once per certificate). */
  secureContext(): SecureContext {
    this.#context ??= createSecureContext(this.contextOptions());
    return this.#context;
  }

  /** Serve `files` from now on; throws (and keeps the old one) when they cannot be used. */
  replace(files: TlsFiles, source: CertificateSource): ServedCertificate {
    const facts = checkPair(files);
    const next: ServedCertificate = { ...files, ...facts, source };
    const context = createSecureContext(this.#contextOptions(next));
    this.#current = next;
    this.#context = context;
    for (const fn of this.#listeners) {
      try {
        fn(next);
      } catch {
        // A listener that cannot take the new certificate keeps its old one; the others go on.
      }
    }
    return next;
  }

  onChange(fn: (served: ServedCertificate) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}

/** Where ACME keeps the certificate it serves (src/acme/storage.ts writes them). */
export function acmeLiveFiles(dataDir: string): { cert: string; key: string } {
  const dir = join(dataDir, 'acme', 'live');
  return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

/** The certificate to serve at start: configured, else a still valid ACME one, else self-signed. */
export async function servingCertificate(dataDir: string, certPath: string, keyPath: string, hostname: string, now = Date.now()): Promise<{ files: TlsFiles; source: CertificateSource }> {
  if (certPath !== '' || keyPath !== '') return { files: await loadCertificate(dataDir, certPath, keyPath, hostname), source: 'configured' };
  const live = acmeLiveFiles(dataDir);
  try {
    const files = { cert: await readFile(live.cert), key: await readFile(live.key) };
    if (checkPair(files).notAfter.getTime() > now) return { files, source: 'acme' };
  } catch {
    // None yet, or unreadable: the self-signed fallback below.
  }
  return { files: await loadCertificate(dataDir, '', '', hostname), source: 'self-signed' };
}
