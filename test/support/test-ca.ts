// A certificate authority of the test's own, made with the openssl CLI: a root, and leaf
// certificates for any names and any validity (an expired one too: `openssl ca` takes explicit
// start and end dates). Trust it through tls.extraRoots.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir, type TestTap } from './firmware.ts';

const run = promisify(execFile);

export interface Leaf {
  cert: Buffer;
  key: Buffer;
  certFile: string;
  keyFile: string;
}

export interface TestCa {
  /** PEM file of the root. */
  rootFile: string;
  root: string;
  issue(names: string[], o?: { notBefore?: Date; notAfter?: Date }): Promise<Leaf>;
}

const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';

export async function makeTestCa(t: TestTap): Promise<TestCa> {
  const dir = await tempDir(t, 'yubin-ca-');
  await mkdir(join(dir, 'newcerts'));
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  const config = join(dir, 'ca.cnf');
  await writeFile(config, [
    '[ca]', 'default_ca = test',
    '[test]', `dir = ${dir}`, `database = ${dir}/index.txt`, `new_certs_dir = ${dir}/newcerts`, `serial = ${dir}/serial`,
    `certificate = ${dir}/ca.pem`, `private_key = ${dir}/ca.key`, 'default_md = sha256', 'policy = anything', 'unique_subject = no', 'copy_extensions = none',
    '[anything]', 'commonName = supplied',
    '[leaf]', 'basicConstraints = CA:FALSE', 'keyUsage = digitalSignature, keyEncipherment', 'extendedKeyUsage = serverAuth', 'subjectAltName = $ENV::SAN',
    '',
  ].join('\n'));
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3', '-subj', '/CN=Yubin Test Root',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem')]);
  const root = await readFile(join(dir, 'ca.pem'), 'utf8');
  let n = 0;
  // openssl ca keeps its serial and index in files: one issuance at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const issue = async (names: string[], o: { notBefore?: Date; notAfter?: Date } = {}): Promise<Leaf> => {
      const base = join(dir, `leaf-${n++}`);
      await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${names[0]}`, '-keyout', `${base}.key`, '-out', `${base}.csr`]);
      const notBefore = o.notBefore ?? new Date(Date.now() - 3600_000);
      const notAfter = o.notAfter ?? new Date(Date.now() + 2 * 86_400_000);
      await run('openssl', ['ca', '-batch', '-config', config, '-extensions', 'leaf', '-notext', '-startdate', stamp(notBefore), '-enddate', stamp(notAfter), '-in', `${base}.csr`, '-out', `${base}.pem`], {
        env: { ...process.env, SAN: names.map((x) => `DNS:${x}`).join(',') },
      });
      return { cert: await readFile(`${base}.pem`), key: await readFile(`${base}.key`), certFile: `${base}.pem`, keyFile: `${base}.key` };
  };
  return {
    rootFile: join(dir, 'ca.pem'),
    root,
    issue(names, o) {
      const next = queue.then(() => issue(names, o));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
