// BIND 9 (Debian's named) as the office's primary DNS server: one zone on a loopback port that
// takes RFC 2136 updates of TXT records signed with a TSIG key (hmac-sha256), as a real office
// would set up for ACME DNS-01.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './ports.ts';
import { tempDir, type TestTap } from './firmware.ts';

export interface Bind {
  /** host:port, for dns.servers, acme.dnsServer and pebble's -dnsserver. */
  address: string;
  tsig: { name: string; algorithm: 'hmac-sha256'; secret: string };
  output(): string;
}

export async function startBind(t: TestTap, zone: string, records: string[] = []): Promise<Bind> {
  const dir = await tempDir(t, 'yubin-bind-');
  const port = await freePort();
  const secret = randomBytes(32).toString('base64');
  await writeFile(join(dir, 'zone'), [
    '$TTL 60',
    `@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 60`,
    `@ IN NS ns.${zone}.`,
    'ns IN A 127.0.0.1',
    ...records,
    '',
  ].join('\n'));
  await writeFile(join(dir, 'named.conf'), `
options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  allow-transfer { none; };
  notify no;
};
controls { };
key "acme-update" { algorithm hmac-sha256; secret "${secret}"; };
zone "${zone}" {
  type primary;
  file "${dir}/zone";
  update-policy { grant acme-update subdomain ${zone}. TXT; };
};
`);
  let log = '';
  const named = spawn('named', ['-g', '-c', join(dir, 'named.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  named.stdout!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
  named.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
  t.teardown(() => void named.kill('SIGKILL'));
  const until = Date.now() + 15_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up && /all zones loaded|running/.test(log)) break;
    if (Date.now() > until || named.exitCode !== null) throw new Error(`named did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { address: `127.0.0.1:${port}`, tsig: { name: 'acme-update', algorithm: 'hmac-sha256', secret }, output: () => log };
}
