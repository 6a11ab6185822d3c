import t from 'tap';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, mkdir, writeFile, readFile, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { antivirusStage } from '../../src/antivirus/stage.ts';
import { quarantineHook, Quarantine } from '../../src/quarantine/store.ts';
import { contentContext, spooled, compose } from '../quarantine/fixture.ts';
import { freePort } from '../support/ports.ts';

const run = promisify(execFile);
// The EICAR test file (eicar.org): harmless, recognised by every scanner.
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
const SIGNATURE = 'Yubin.Test.EICAR.UNOFFICIAL';

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path: socketPath });
    s.setTimeout(1000, () => (s.destroy(), resolve(false)));
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('zPING\0'));
    s.on('data', (d) => (s.destroy(), resolve(d.toString().startsWith('PONG'))));
  });
}

// One clamd for the file: our own signature database (an .ndb body signature of EICAR), no freshclam.
const dir = await mkdtemp(join(tmpdir(), 'yubin-clamd-'));
const socketPath = join(dir, 'clamd.sock');
const tcpPort = await freePort();
await mkdir(join(dir, 'db'));
await writeFile(join(dir, 'db', 'yubin-test.ndb'), `Yubin.Test.EICAR:0:*:${Buffer.from(EICAR).toString('hex')}\n`);
await writeFile(join(dir, 'clamd.conf'), [
  'Foreground yes', `LocalSocket ${socketPath}`, `TCPSocket ${tcpPort}`, 'TCPAddr 127.0.0.1', `DatabaseDirectory ${join(dir, 'db')}`,
  `TemporaryDirectory ${dir}`, `LogFile ${join(dir, 'clamd.log')}`, 'Bytecode no', 'ScanMail yes', 'ScanArchive yes', 'StreamMaxLength 30M', '',
].join('\n'));
const started = Date.now();
const clamd = spawn('clamd', ['--config-file', join(dir, 'clamd.conf')], { stdio: 'ignore' });
t.teardown(async () => {
  clamd.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});
while (!(await ping(socketPath))) {
  if (Date.now() - started > 30_000 || clamd.exitCode !== null) {
    t.fail(`clamd did not start: ${await readFile(join(dir, 'clamd.log'), 'utf8').catch(() => '')}`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}
t.comment(`clamd ready in ${Date.now() - started} ms`);

async function zipWith(name: string, content: string): Promise<Buffer> {
  const work = await mkdtemp(join(tmpdir(), 'yubin-zip-'));
  try {
    await writeFile(join(work, name), content);
    await run('zip', ['-q', 'a.zip', name], { cwd: work, timeout: 10_000 });
    return await readFile(join(work, 'a.zip'));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

t.test('rejects EICAR in an attachment with 554 5.7.1 naming the signature', async (t) => {
  const ctx = await contentContext(t);
  await ctx.store.set('antivirus.address', socketPath);
  const found = ctx.bus.once('virus.found');
  const msg = await spooled(ctx, await compose({ text: 'see attached', attachments: [{ filename: 'eicar.com.txt', content: EICAR }] }));
  t.same(await antivirusStage(msg, ctx), { action: 'reject', code: 554, enhanced: '5.7.1', text: `Message refused: virus found (${SIGNATURE})` });
  t.same(await found, { client: '127.0.0.9', from: 'sender@outside.example', signature: SIGNATURE, queueId: msg.queueId });
});

t.test('finds EICAR inside a zip archive, over TCP too', async (t) => {
  const ctx = await contentContext(t);
  await ctx.store.set('antivirus.address', `127.0.0.1:${tcpPort}`);
  const msg = await spooled(ctx, await compose({ text: 'zipped', attachments: [{ filename: 'docs.zip', content: await zipWith('readme.txt', EICAR) }] }));
  const verdict = await antivirusStage(msg, ctx);
  t.equal(verdict.action, 'reject');
  t.match(verdict.action === 'reject' ? verdict.text : '', SIGNATURE);
});

t.test('holds infected mail in quarantine when set to', async (t) => {
  const ctx = await contentContext(t);
  await ctx.store.set('antivirus.address', socketPath);
  await ctx.store.set('antivirus.action', 'quarantine');
  const msg = await spooled(ctx, await compose({ text: 'x', attachments: [{ filename: 'docs.zip', content: await zipWith('a.txt', EICAR) }] }));
  const verdict = await antivirusStage(msg, ctx);
  t.same(verdict, { action: 'quarantine', reason: `virus ${SIGNATURE}`, headers: [`X-Yubin-Virus-Scan: infected with ${SIGNATURE}`] });
  if (verdict.action !== 'quarantine') return;
  await quarantineHook(ctx)(msg, verdict.reason, verdict.headers ?? [], 'antivirus');
  const held = await new Quarantine(ctx).list();
  t.equal(held.length, 1);
  t.equal(held[0]?.reason, `virus ${SIGNATURE}`);
  t.match(await readFile((await new Quarantine(ctx).show(held[0]!.id)).path, 'latin1'), /^X-Yubin-Virus-Scan: infected with Yubin\.Test\.EICAR\.UNOFFICIAL\r\n/);
});

t.test('passes clean mail with a header', async (t) => {
  const ctx = await contentContext(t);
  await ctx.store.set('antivirus.address', socketPath);
  const msg = await spooled(ctx, await compose({ text: 'hello', attachments: [{ filename: 'x.zip', content: await zipWith('a.txt', 'harmless') }] }));
  t.same(await antivirusStage(msg, ctx), { action: 'accept', headers: ['X-Yubin-Virus-Scan: clean (ClamAV)'] });
});

t.test('answers 451 4.7.1 while clamd is down, or accepts unscanned when set to fail open', async (t) => {
  const ctx = await contentContext(t);
  await ctx.store.set('antivirus.address', join(dir, 'no-such.sock'));
  const msg = await spooled(ctx, await compose({ text: 'hello' }));
  const down = ctx.bus.once('service.down');
  t.same(await antivirusStage(msg, ctx), { action: 'tempfail', code: 451, enhanced: '4.7.1', text: 'Virus scanner unavailable, try again later' });
  t.equal((await down).service, 'clamd');
  await ctx.store.set('antivirus.onError', 'accept');
  t.same(await antivirusStage(msg, ctx), { action: 'accept', headers: ['X-Yubin-Virus-Scan: not scanned, scanner unavailable'] });
});

t.test('times out on a clamd that never answers', async (t) => {
  const ctx = await contentContext(t);
  const silent = createServer((s) => s.on('data', () => undefined)).listen(0, '127.0.0.1');
  await new Promise((r) => silent.once('listening', r));
  t.teardown(() => new Promise((r) => silent.close(r)));
  // A silent peer must hold its sockets open; close them when the test ends.
  silent.on('connection', (s) => t.teardown(() => s.destroy()));
  await ctx.store.set('antivirus.address', `127.0.0.1:${(silent.address() as { port: number }).port}`);
  await ctx.store.set('antivirus.timeout', '1');
  const msg = await spooled(ctx, await compose({ text: 'hello' }));
  const began = Date.now();
  const verdict = await antivirusStage(msg, ctx);
  t.equal(verdict.action, 'tempfail');
  t.ok(Date.now() - began < 3000, 'bounded by antivirus.timeout');
});
