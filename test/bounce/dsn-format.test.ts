import t from 'tap';
import { Readable } from 'node:stream';
import { execFile } from 'node:child_process';
import { dsnMessage, statusOf, headerOf } from '../../src/bounce/dsn.ts';
import type { QueueEntry } from '../../src/spool/entry.ts';

const entry: QueueEntry = {
  id: '0MWZJ00000000000001',
  received: Date.UTC(2026, 10, 27, 8),
  mailFrom: 'alice@office.test',
  direction: 'outbound',
  client: { address: '127.0.0.1', hostname: '', helo: 'pc', tls: true, user: 'alice', trusted: false },
  listener: 'submission',
  size: 100,
  prepend: [],
  rcpts: [
    { original: 'team@office.test', address: 'bob@dest.test', route: { kind: 'remote', domain: 'dest.test' }, status: 'failed', attempts: 1, nextAttempt: 0, lastReply: '550 5.1.1 no such user (mx.dest.test [192.0.2.25], TLS)' },
    { original: 'carol@else.test', address: 'carol@else.test', route: { kind: 'remote', domain: 'else.test' }, status: 'failed', attempts: 9, nextAttempt: 0, lastReply: '451 4.4.1 mx.else.test [192.0.2.26]: connect ECONNREFUSED; gave up after 120 hours in the queue' },
  ],
};

async function text(iter: AsyncIterable<string | Buffer>): Promise<string> {
  let out = '';
  for await (const p of iter) out += p.toString();
  return out;
}

t.test('a DSN is a multipart/report that Python\'s email parser reads part by part (RFC 3464, RFC 6522)', async (t) => {
  const original = Readable.from([Buffer.from('Received: x\r\nSubject: hi\r\n\r\nbody that must not come back\r\n')]);
  const dsn = await text(dsnMessage({ action: 'failed', reportingHost: 'yubin.office.test', entry, rcpts: entry.rcpts, now: new Date(Date.UTC(2026, 10, 27, 9)) }, original, 4096));
  const py = `
import sys, email, json
m = email.message_from_string(sys.stdin.read())
parts = m.get_payload()
status = parts[1].get_payload()
print(json.dumps({"type": m.get_content_type(), "report": m.get_param("report-type"), "parts": [p.get_content_type() for p in parts],
  "per_rcpt": [dict(s.items()) for s in status[1:]], "mta": dict(status[0].items()), "headers": parts[2].get_payload()}))
`;
  const child = execFile('python3', ['-c', py], { timeout: 20_000 });
  child.stdin!.end(dsn);
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  await new Promise((r) => child.on('close', r));
  const got = JSON.parse(stdout) as { type: string; report: string; parts: string[]; per_rcpt: Array<Record<string, string>>; mta: Record<string, string>; headers: string };
  t.equal(got.type, 'multipart/report');
  t.equal(got.report, 'delivery-status');
  t.same(got.parts, ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
  t.equal(got.mta['Reporting-MTA'], 'dns; yubin.office.test');
  t.match(got.per_rcpt[0], { 'Original-Recipient': 'rfc822; team@office.test', 'Final-Recipient': 'rfc822; bob@dest.test', Action: 'failed', Status: '5.1.1', 'Remote-MTA': 'dns; mx.dest.test' });
  t.match(got.per_rcpt[1], { 'Final-Recipient': 'rfc822; carol@else.test', Action: 'failed', Status: '5.4.7' }, 'given up after temporary failures: 5.4.7');
  t.match(got.headers, /Subject: hi/);
  t.notMatch(dsn, /body that must not come back/);
});

t.test('status codes and the returned header are bounded and exact', async (t) => {
  t.equal(statusOf('452 4.2.2 mailbox full', 'delayed'), '4.2.2');
  t.equal(statusOf('550 no such user', 'failed'), '5.0.0');
  t.equal(statusOf(undefined, 'delayed'), '4.0.0');
  const long = 'X-Long: ' + 'a'.repeat(70) + '\r\n';
  const header = await headerOf(Readable.from([Buffer.from(long.repeat(100) + '\r\nbody')]), 1000);
  t.ok(header.length <= 1000 && header.toString().endsWith('\r\n'), `cut at a line end within the bound (${header.length} bytes)`);
});
