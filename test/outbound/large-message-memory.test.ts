// No whole message in memory on the way out: a 100 MiB queued message is sent to a remote MX over
// STARTTLS while the sending process's RSS grows by far less than the message. Measured: 10 MiB →
// +10.6 MiB, 50 → +27, 100 → +31 (a plateau: V8's young generation, which --max-semi-space-size=1
// brings to +11.5 MiB for 100 MiB), so the bound below is 40 MiB, not a fraction of the size.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile, open } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDnsServer } from '../support/dns-server.ts';
import { commonFreePort, makeContext, startPeer, waitFor, queuedIds, tempDir } from './fixtures/harness.ts';
import { Spool } from '../../src/spool/spool.ts';
import { newQueueId } from '../../src/spool/queue-id.ts';

const runner = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'queue-runner.ts');
const MX = '127.0.0.95';
const MIB = 100;

const dns = await startDnsServer(t, { 'dest.test': { MX: [{ preference: 10, exchange: 'mx.dest.test' }] }, 'mx.dest.test': { A: [MX] } });
const port = await commonFreePort([MX]);
const dataDir = await tempDir(t);
const ctx = await makeContext(t, { domains: 'office.test', 'dns.servers': dns.address, 'outbound.port': String(port), 'archive.enabled': 'false' }, dataDir);
const peer = await startPeer(t, MX, port, { discardData: true });

// The big message, written in 1 MiB pieces beside the spool (its tmp/ is emptied at start).
const spool = new Spool(dataDir);
await spool.init();
const id = newQueueId();
const bigPath = join(dataDir, 'big.eml');
const file = await open(bigPath, 'wx', 0o600);
const head = `Received: by test\r\nFrom: <alice@office.test>\r\nTo: <bob@dest.test>\r\nSubject: big\r\n\r\n`;
await file.write(head);
const line = Buffer.from('0123456789'.repeat(7) + '\r\n');
const piece = Buffer.concat(Array.from({ length: Math.floor((1024 * 1024) / line.length) }, () => line));
for (let i = 0; i < MIB; i++) await file.write(piece);
await file.sync();
const size = (await file.stat()).size;
await file.close();

const child = spawn(process.execPath, [runner, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
t.teardown(() => child.kill('SIGKILL'));
await new Promise<void>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('runner not ready')), 20_000);
  child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && (clearTimeout(timer), resolve()));
});
const rss = async () => Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;
await new Promise((r) => setTimeout(r, 300));
const baseline = await rss();
let peak = baseline;
const sampler = setInterval(() => void rss().then((v) => (peak = Math.max(peak, v)), () => undefined), 10);

await spool.commit({
  id, received: Date.now(), mailFrom: 'alice@office.test', direction: 'outbound',
  client: { address: '127.0.0.1', hostname: '', helo: 'x', tls: false, user: 'alice', trusted: true },
  listener: 'submission', size, prepend: ['X-Checked: yes'],
  rcpts: [{ original: 'bob@dest.test', address: 'bob@dest.test', route: { kind: 'remote', domain: 'dest.test' }, status: 'pending', attempts: 0, nextAttempt: 0 }],
}, bigPath);
const started = Date.now();
await waitFor('the big message at the MX', () => peer.received.length === 1, 50_000);
await waitFor('queue empty', async () => (await queuedIds(spool)).length === 0, 10_000);
clearInterval(sampler);
const seconds = (Date.now() - started) / 1000;
t.equal(peer.received[0]!.bytes, size + 'X-Checked: yes\r\n'.length, `${MIB} MiB arrived whole, with the prepended header`);
t.ok(peer.received[0]!.secure, 'over STARTTLS');
const growth = peak - baseline;
t.comment(`RSS baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, peak ${(peak / 2 ** 20).toFixed(1)} MiB; ${MIB} MiB in ${seconds.toFixed(1)} s (picked up by the 5 s rescan)`);
t.ok(growth < 40 * 2 ** 20, `RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB (< 40 MiB for a ${MIB} MiB message)`);
