// A fresh board gets its certificate from pebble by itself (ACME HTTP-01 through its own web
// listener), serves it on SMTP 25/587 (STARTTLS), 465, POP3 110 (STLS), 995 and on the MTA-STS
// HTTPS endpoint, and renews it at two thirds of its lifetime while a POP3S session stays open.
import t from 'tap';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:https';
import { tempDir, seed, startChild, BASE_SETTINGS } from '../support/firmware.ts';
import { freePorts } from '../support/ports.ts';
import { startPebble } from '../support/pebble.ts';
import { presented } from '../support/tls-probe.ts';
import { deliver, maildirOf } from '../../src/maildir/maildir.ts';

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A line-level POP3S client that keeps its session open. */
class Pop3s {
  #socket: TLSSocket;
  #buf = '';
  #waiters: Array<() => void> = [];
  closed = false;
  constructor(socket: TLSSocket) {
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.#buf += d;
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('close', () => (this.closed = true));
  }
  static async open(port: number, servername: string, ca: string): Promise<{ client: Pop3s; serial: string; authorized: boolean }> {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const client = new Pop3s(socket);
    await client.line();
    return { client, serial: socket.getPeerCertificate().serialNumber.toUpperCase(), authorized: socket.authorized };
  }
  async #until(done: () => boolean): Promise<void> {
    const until = Date.now() + 10_000;
    while (!done()) {
      if (Date.now() > until) throw new Error(`POP3: no reply; have ${JSON.stringify(this.#buf)}`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }
  async line(): Promise<string> {
    await this.#until(() => this.#buf.includes('\r\n'));
    const i = this.#buf.indexOf('\r\n');
    const l = this.#buf.slice(0, i);
    this.#buf = this.#buf.slice(i + 2);
    return l;
  }
  async command(c: string): Promise<string> {
    this.#socket.write(`${c}\r\n`);
    return this.line();
  }
  async multiline(c: string): Promise<string> {
    const first = await this.command(c);
    if (!first.startsWith('+OK')) return first;
    await this.#until(() => this.#buf.includes('\r\n.\r\n'));
    const i = this.#buf.indexOf('\r\n.\r\n');
    const body = this.#buf.slice(0, i);
    this.#buf = this.#buf.slice(i + 5);
    return `${first}\r\n${body}`;
  }
  close(): void {
    this.#socket.destroy();
  }
}

function httpsGet(port: number, host: string, path: string, ca: string): Promise<{ status: number; type: string; body: string; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, servername: host, headers: { Host: host }, ca, timeout: 5000 }, (res) => {
      const authorized = (res.socket as TLSSocket).authorized;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body, authorized }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('a fresh board obtains its certificate from pebble over HTTP-01, serves it everywhere, and renews it under an open POP3 session', async (t) => {
  const ports = await freePorts(7);
  const [webPort, webTlsPort, smtp, submission, smtps, pop3, pop3s] = ports as [number, number, number, number, number, number, number];
  // 45 s certificates: the renewal at two thirds falls 30 s after issuance.
  const pebble = await startPebble(t, { httpPort: webPort, tlsPort: webTlsPort, validitySeconds: 45, avoid: ports });
  const dataDir = await tempDir(t);
  await seed(dataDir, {
    ...BASE_SETTINGS,
    'smtp.port': smtp, 'smtp.submissionPort': submission, 'smtp.smtpsPort': smtps, 'pop3.port': pop3, 'pop3.tlsPort': pop3s,
    'web.port': webPort, 'web.tlsPort': webTlsPort,
    'acme.enabled': true, 'acme.directory': pebble.directory, 'tls.extraRoots': pebble.serverCaFile,
    'mtasts.mode': 'testing',
  }, [{ name: 'alice', password: 'alice-password-1' }]);
  await deliver(maildirOf(dataDir, 'alice'), 'msg-1', async (file) => void (await file.write('Subject: kept\r\n\r\nstill readable after the renewal\r\n')));
  const started = Date.now();
  const fw = await startChild(dataDir, [], 20_000, { configuredPorts: true });
  t.teardown(() => void fw.child.kill('SIGKILL'));
  t.teardown(() => {
    if (!t.passing()) t.comment(`firmware stderr:\n${fw.stderr()}\npebble:\n${pebble.output().slice(-3000)}`);
  });

  const root = await pebble.root();
  const name = 'mx.yubin.test';
  const first = await waitFor('the first certificate on 465', async () => {
    const p = await presented(smtps, 'implicit', { servername: name, ca: root });
    return p.authorized && p;
  });
  t.comment(`issued ${((Date.now() - started) / 1000).toFixed(1)} s after start`);
  t.same(first.names.sort(), ['mta-sts.yubin.test', 'mx.yubin.test'], 'the hostname and the MTA-STS name are on it');
  for (const [port, how, what] of [[smtp, 'smtp', 'SMTP 25 STARTTLS'], [submission, 'smtp', 'submission 587 STARTTLS'], [pop3, 'pop3', 'POP3 110 STLS'], [pop3s, 'implicit', 'POP3S 995']] as const) {
    const p = await presented(port, how, { servername: name, ca: root });
    t.ok(p.authorized, `${what} presents a certificate that validates against pebble's root for ${name} (${p.error ?? 'ok'})`);
    t.equal(p.serial, first.serial, `${what} serves the same certificate`);
  }
  const policy = await httpsGet(webTlsPort, 'mta-sts.yubin.test', '/.well-known/mta-sts.txt', root);
  t.ok(policy.authorized, 'the MTA-STS endpoint validates for mta-sts.yubin.test');
  t.equal(policy.status, 200, 'the policy is served');
  t.equal(policy.type, 'text/plain; charset=utf-8', 'as text/plain (RFC 8461 §3.3)');
  t.match(policy.body, /^version: STSv1\r\nmode: testing\r\nmx: mx\.yubin\.test\r\nmax_age: \d+\r\n$/);

  for (const file of ['account-key.pem', 'live/key.pem', 'live/cert.pem', 'state.json']) {
    t.equal((await stat(join(dataDir, 'acme', file))).mode & 0o777, 0o600, `DATA/acme/${file} is 0600`);
  }
  t.equal((await stat(join(dataDir, 'acme'))).mode & 0o777, 0o700, 'DATA/acme is 0700');

  // A POP3S session opened on the first certificate, logged in, stays open across the renewal.
  const session = await Pop3s.open(pop3s, name, root);
  t.equal(session.serial, first.serial);
  t.match(await session.client.command('USER alice'), /^\+OK/);
  t.match(await session.client.command('PASS alice-password-1'), /^\+OK/);
  t.match(await session.client.command('STAT'), /^\+OK 1 /);

  const second = await waitFor('the renewed certificate on 995', async () => {
    const p = await presented(pop3s, 'implicit', { servername: name, ca: root });
    return p.serial !== first.serial && p.authorized && p;
  }, 60_000);
  const state = JSON.parse(await readFile(join(dataDir, 'acme', 'state.json'), 'utf8')) as { lastResult: string; serial: string };
  t.equal(state.lastResult, 'issued');
  t.equal(state.serial, second.serial, 'state.json names the renewed certificate');
  for (const [port, how, what] of [[smtp, 'smtp', 'SMTP 25'], [submission, 'smtp', 'submission 587'], [smtps, 'implicit', 'SMTPS 465'], [pop3, 'pop3', 'POP3 110']] as const) {
    t.equal((await presented(port, how, { servername: name, ca: root })).serial, second.serial, `${what} serves the renewed certificate without a restart`);
  }
  const web = await presented(webTlsPort, 'implicit', { servername: 'mta-sts.yubin.test', ca: root });
  t.ok(web.authorized && web.serial === second.serial, 'so does the MTA-STS HTTPS endpoint');
  t.notOk(session.client.closed, 'the POP3S session opened before the renewal is still open');
  t.match(await session.client.command('STAT'), /^\+OK 1 /, 'and answers');
  t.match(await session.client.multiline('RETR 1'), /still readable after the renewal/);
  t.match(await session.client.command('QUIT'), /^\+OK/);
  t.equal(fw.child.exitCode, null, 'the firmware was never restarted');
  fw.child.kill('SIGTERM');
  await fw.exited;
});
