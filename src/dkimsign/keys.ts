// DKIM keys: one PEM file per selector under DATA/dkim/<domain>/, and the DNS TXT record that
// publishes each (RFC 6376 §3.6.1; ed25519 per RFC 8463 §4.2).
import { generateKeyPairSync, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../files/durable.ts';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export interface DkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
}

export interface DnsTxtRecord {
  /** Owner name, e.g. "yubin-rsa._domainkey.example.com". */
  name: string;
  /** The record text as one string. */
  value: string;
  /** A zone-file line with the text split into strings of at most 255 bytes (RFC 1035 §3.3.14). */
  zoneLine: string;
}

const SELECTOR = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function keyDir(dataDir: string, domain: string): string {
  return join(dataDir, 'dkim', domain.toLowerCase());
}

export function defaultSelector(algorithm: DkimAlgorithm): string {
  return algorithm === 'rsa-sha256' ? 'yubin-rsa' : 'yubin-ed25519';
}

export class KeygenError extends Error {
  override readonly name = 'KeygenError';
}

/**
 * Make a key for `domain` under `selector`, store it (mode 0600, durably) and return the TXT
 * record to publish. rsa-sha256 keys are 2048 bits (RFC 8301 §3.2 asks for at least 2048 for signers).
 */
export async function keygen(
  dataDir: string,
  domainName: string,
  options: { selector?: string; algorithm?: DkimAlgorithm; overwrite?: boolean } = {},
): Promise<DnsTxtRecord & { path: string; algorithm: DkimAlgorithm; selector: string }> {
  const domain = domainName.toLowerCase().replace(/\.$/, '');
  const algorithm = options.algorithm ?? 'rsa-sha256';
  const selector = (options.selector ?? defaultSelector(algorithm)).toLowerCase();
  if (!DOMAIN.test(domain)) throw new KeygenError(`"${domainName}" is not a domain name such as example.com`);
  if (!SELECTOR.test(selector)) throw new KeygenError(`selector "${selector}" must be DNS labels: letters, digits and hyphens`);
  const dir = keyDir(dataDir, domain);
  const path = join(dir, `${selector}.pem`);
  if (!options.overwrite) {
    const existing = await readFile(path).catch(() => null);
    if (existing) throw new KeygenError(`a key for selector ${selector} of ${domain} exists (${path}); choose another selector to rotate`);
  }
  const { privateKey } = algorithm === 'rsa-sha256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ed25519');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await writeFileDurable(path, pem, 0o600);
  return { ...txtRecord(domain, selector, privateKey), path, algorithm, selector };
}

/**
 * What `yubin dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519|both]` does: both by
 * default (RFC 8463 §3 advises signing with both while verifiers catch up). With both and a
 * selector S, the selectors are S-rsa and S-ed25519, as one selector names one key.
 */
export async function keygenForCli(
  dataDir: string,
  domain: string,
  options: { selector?: string; algorithm?: 'rsa' | 'ed25519' | 'both' } = {},
): Promise<Array<DnsTxtRecord & { path: string; algorithm: DkimAlgorithm; selector: string }>> {
  const which = options.algorithm ?? 'both';
  const algorithms: DkimAlgorithm[] = which === 'both' ? ['rsa-sha256', 'ed25519-sha256'] : [which === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256'];
  const out = [];
  for (const algorithm of algorithms) {
    const selector = options.selector === undefined ? undefined : which === 'both' ? `${options.selector}-${algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519'}` : options.selector;
    out.push(await keygen(dataDir, domain, { algorithm, ...(selector === undefined ? {} : { selector }) }));
  }
  return out;
}

/** The TXT record that publishes the public half of `privateKey`. */
export function txtRecord(domain: string, selector: string, privateKey: KeyObject | string): DnsTxtRecord {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  const pub = createPublicKey(key);
  let value: string;
  if (key.asymmetricKeyType === 'ed25519') {
    // RFC 8463 §4.2: p= is the raw 32-byte public key, not a SubjectPublicKeyInfo.
    const raw = Buffer.from((pub.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
    value = `v=DKIM1; k=ed25519; p=${raw.toString('base64')}`;
  } else if (key.asymmetricKeyType === 'rsa') {
    value = `v=DKIM1; k=rsa; p=${(pub.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64')}`;
  } else {
    throw new KeygenError(`unsupported key type ${key.asymmetricKeyType}`);
  }
  const name = `${selector}._domainkey.${domain}`;
  const strings: string[] = [];
  for (let i = 0; i < value.length; i += 255) strings.push(`"${value.slice(i, i + 255)}"`);
  return { name, value, zoneLine: `${name}. IN TXT ( ${strings.join(' ')} )` };
}

/** Every key stored for `domain` (empty when there is none). */
export async function loadKeys(dataDir: string, domain: string): Promise<DkimKey[]> {
  const dir = keyDir(dataDir, domain);
  const names = await readdir(dir).catch(() => [] as string[]);
  const keys: DkimKey[] = [];
  for (const file of names.filter((n) => n.endsWith('.pem')).sort()) {
    const privateKeyPem = await readFile(join(dir, file), 'utf8');
    const type = createPrivateKey(privateKeyPem).asymmetricKeyType;
    if (type !== 'rsa' && type !== 'ed25519') continue;
    keys.push({ domain, selector: file.slice(0, -4), algorithm: type === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256', privateKeyPem });
  }
  return keys;
}
