// Signed RAUC bundles of a root slot image, and the development key that signs them in tests.
// The production key is never in the repository: the build takes --cert/--key (or
// YUBIN_SIGNING_CERT/YUBIN_SIGNING_KEY); without them it makes (once) a development key in
// image/out/keys/, and an image built with it accepts only bundles signed with it.
import { mkdir, rm, writeFile, copyFile, access } from 'node:fs/promises';
import { run } from './run.ts';
import { outDir } from './targets.ts';

export interface SigningKey {
  cert: string;
  key: string;
  /** Made here for tests and development, not given to the build. */
  development: boolean;
}

/** A self-signed code-signing certificate and key (openssl), made once into `dir`. */
export async function makeKey(dir: string, name: string): Promise<SigningKey> {
  const cert = `${dir}/${name}.cert.pem`;
  const key = `${dir}/${name}.key.pem`;
  try {
    await access(cert);
    await access(key);
    return { cert, key, development: true };
  } catch {}
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '3650',
    '-subj', `/O=Yubin development/CN=${name}`, '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=codeSigning']);
  return { cert, key, development: true };
}

/** The key the build signs with: given (--cert/--key or the environment), or the development key. */
export async function signingKey(options: { cert?: string | undefined; key?: string | undefined } = {}): Promise<SigningKey> {
  const cert = options.cert ?? process.env.YUBIN_SIGNING_CERT;
  const key = options.key ?? process.env.YUBIN_SIGNING_KEY;
  if (cert && key) return { cert, key, development: false };
  if (cert || key) throw new Error('give both --cert and --key (or neither, for the development key)');
  return makeKey(`${outDir}/keys`, 'development');
}

export interface BundleSpec {
  /** The root slot image (squashfs). */
  rootImage: string;
  /** Files beside it (path → name in the bundle), not in the manifest: read by the board's post-install handler, covered by the signature like the rest. */
  files?: ReadonlyArray<readonly [string, string]>;
  compatible: string;
  version: string;
  key: SigningKey;
  out: string;
  work: string;
}

/** `rauc bundle`: a plain bundle (squashfs + CMS signature) holding the root image for the rootfs slot class, and `files`. */
export async function makeBundle(spec: BundleSpec): Promise<string> {
  const dir = `${spec.work}/bundle-content`;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await copyFile(spec.rootImage, `${dir}/root.img`);
  for (const [path, name] of spec.files ?? []) await copyFile(path, `${dir}/${name}`);
  await writeFile(`${dir}/manifest.raucm`, `[update]
compatible=${spec.compatible}
version=${spec.version}

[bundle]
format=plain

[image.rootfs]
filename=root.img
`);
  await rm(spec.out, { force: true });
  await run('rauc', ['bundle', '--cert', spec.key.cert, '--key', spec.key.key, dir, spec.out]);
  await rm(dir, { recursive: true, force: true });
  return spec.out;
}
