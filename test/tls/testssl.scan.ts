// testssl.sh (Debian's testssl.sh package) against every TLS listener of a running firmware, a full
// default run each: any finding rated MEDIUM or worse fails, except the certificate's own (below).
// Run by `npm run test:tls`, not by `npm test`: the five scans take about 3 minutes here.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { startInProcess, tempDir } from '../support/firmware.ts';
import { tlsListeners, type TlsListener } from './listeners.ts';

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

// Findings about the certificate, not about how we speak TLS: the self-signed RSA certificate made
// on first start (src/tls/certificate.ts) cannot pass them, and an admin's own tls.cert decides them.
// These are the IDs testssl 3.0.8's certificate_info and run_server_defaults write for a certificate
// (with " <cert#N>" appended when there are several); an ID not listed here counts as ours.
const CERTIFICATE_IDS = new Set([
  // the certificate and its names
  'cert', 'cert_numbers', 'certs_countServer', 'certs_list_ordering_problem', 'cert_commonName',
  'cert_commonName_wo_SNI', 'cert_subjectAltName', 'cert_serialNumber', 'cert_serialNumberLen',
  'cert_fingerprintSHA1', 'cert_fingerprintSHA256', 'cert_certificatePolicies_EV', 'cert_eTLS',
  // its key and signature
  'cert_signatureAlgorithm', 'cert_keySize', 'cert_keyUsage', 'cert_extKeyUsage', 'pwnedkeys',
  // chain of trust and hostname match
  'cert_trust', 'cert_chain_of_trust', 'cert_caIssuers',
  // validity
  'cert_notBefore', 'cert_notAfter', 'cert_expirationStatus', 'cert_validityPeriod',
  // revocation: CRL, OCSP (stapling needs a CA's responder), Certificate Transparency
  'cert_crlDistributionPoints', 'cert_ocspURL', 'cert_revocation', 'cert_mustStapleExtension',
  'OCSP_stapling', 'certificate_transparency',
  // DNS about the certificate's name
  'DNS_CAArecord',
]);

const FAILING = new Set(['MEDIUM', 'HIGH', 'CRITICAL']);

// The checks this test is about: if one is missing, the scan stopped early and proved nothing.
// (So the JSON is written in full, not cut down with --severity: the OK rows are the proof.)
const MUST_RUN = ['TLS1', 'TLS1_1', 'TLS1_2', 'TLS1_3', 'cipherlist_AVERAGE', 'PFS', 'cipher_order', 'secure_client_renego', 'LUCKY13', 'scanTime'];

const SCAN_TIMEOUT_MS = 300_000;

const fw = await startInProcess(t);
const out = await tempDir(t, 'yubin-testssl-');

async function scan(listener: TlsListener): Promise<{ findings: Finding[]; seconds: number; log: string }> {
  const json = join(out, `${listener.name}.json`);
  const starttls = listener.starttls ? ['--starttls', listener.starttls] : [];
  // --nodns min: nothing to resolve on 127.0.0.1, and no DNS traffic leaves the machine.
  const args = ['--quiet', '--color', '0', '--warnings', 'batch', '--nodns', 'min', '--jsonfile', json, ...starttls, `127.0.0.1:${listener.port}`];
  const started = Date.now();
  // testssl's exit code counts things of its own; the JSON is what is judged.
  const log = await new Promise<string>((resolve) => {
    execFile('testssl', args, { timeout: SCAN_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve(`${stdout}${stderr}${err?.killed ? `\n[killed after ${SCAN_TIMEOUT_MS} ms]` : ''}`);
    });
  });
  const findings = JSON.parse(await readFile(json, 'utf8').catch(() => '[]')) as Finding[];
  return { findings, seconds: Math.round((Date.now() - started) / 1000), log };
}

// A few scans at a time (as many as there are cores): one alone leaves a core idle, all five
// at once on two cores make each handshake slow enough for testssl to time some out.
function limit(jobs: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= jobs) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
const pool = limit(Math.max(1, availableParallelism()));
const listeners = tlsListeners(fw);
const scans = new Map(listeners.map((l) => [l.name, pool(() => scan(l))]));

for (const listener of listeners) {
  const how = listener.starttls ? `--starttls ${listener.starttls}` : 'implicit TLS';
  t.test(`${listener.name} (${how}): testssl.sh finds nothing MEDIUM or worse outside the certificate`, { timeout: SCAN_TIMEOUT_MS * 2 }, async (t) => {
    const { findings, seconds, log } = await scans.get(listener.name)!;
    t.comment(`${listener.name}: testssl took ${seconds} s`);
    const ran = new Set(findings.map((f) => f.id));
    t.same(MUST_RUN.filter((id) => !ran.has(id)), [], 'the scan ran every check', { log: log.slice(-4000) });
    t.same(findings.filter((f) => f.severity === 'FATAL'), [], 'no scan problem');
    const ours = findings.filter((f) => FAILING.has(f.severity) && !CERTIFICATE_IDS.has(f.id.replace(/ <cert#\d+>$/, '')));
    t.same(ours.map((f) => `${f.severity} ${f.id}: ${f.finding}`), [], 'no MEDIUM, HIGH or CRITICAL finding');
    // A check that could not run is no finding, but it is worth seeing (engine_problem: Debian's
    // openssl has no GOST engine, which only matters for GOST suites nobody here offers).
    for (const f of findings.filter((f) => f.severity === 'WARN' && f.id !== 'engine_problem')) t.comment(`WARN ${f.id}: ${f.finding}`);
  });
}
