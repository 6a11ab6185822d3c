// The TLS certificate for SMTP and POP3. An admin may configure one (tls.cert/tls.key); otherwise a
// self-signed one is made on first start in DATA/tls, so STARTTLS, 465 and 995 work out of the box.
import { readFile, mkdir, access } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';

const run = promisify(execFile);

export interface TlsFiles {
  key: Buffer;
  cert: Buffer;
}

export async function loadCertificate(dataDir: string, certPath: string, keyPath: string, hostname: string): Promise<TlsFiles> {
  if (certPath !== '' || keyPath !== '') {
    if (certPath === '' || keyPath === '') throw new Error('tls.cert and tls.key must be set together');
    return { cert: await readFile(certPath), key: await readFile(keyPath) };
  }
  const dir = join(dataDir, 'tls');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  if (!(await exists(cert)) || !(await exists(key))) await makeSelfSigned(dir, cert, key, hostname);
  return { cert: await readFile(cert), key: await readFile(key) };
}

async function makeSelfSigned(dir: string, cert: string, key: string, hostname: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // RSA 2048 rather than EC: old mail clients in small offices still lack ECDSA.
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
    '-subj', `/CN=${hostname}`, '-addext', `subjectAltName=DNS:${hostname}`,
    '-keyout', key, '-out', cert,
  ]);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
