// DMARC aggregate reports both ways through the running firmware. Out: two inbound messages
// claiming sender.test (one passes DMARC by SPF, one fails), the day's report mailed to the rua
// address the domain authorised, validated by lxml against RFC 9990's schema. In: a report about
// yubin.test arriving by SMTP (gzip attached) shows up in `show dmarc`, and again is not counted twice.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDnsServer } from '../support/dns-server.ts';
import { startInProcess, tempDir, seed, BASE_SETTINGS } from '../support/firmware.ts';
import { RawSmtp } from '../support/clients.ts';
import { runCommand } from '../../firmware/commands/index.ts';
import { maildirOf } from '../../src/maildir/maildir.ts';
import { startFirmware, type Firmware } from '../../firmware/supervisor.ts';

const run = promisify(execFile);
const HERE = import.meta.dirname;

async function send(port: number, from: string, address: string, to: string, message: string): Promise<string> {
  const c = await RawSmtp.open(port, address);
  try {
    await c.reply();
    await c.command('EHLO client.sender.test');
    await c.command(`MAIL FROM:<${from}>`);
    await c.command(`RCPT TO:<${to}>`);
    await c.command('DATA');
    return await c.command(message.replace(/\r?\n/g, '\r\n').replace(/\r\n\./g, '\r\n..') + '\r\n.');
  } finally {
    c.close();
  }
}

async function mailbox(fw: Firmware, user: string): Promise<string[]> {
  const dir = join(maildirOf(fw.ctx.dataDir, user), 'new');
  const names = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(names.map((n) => readFile(join(dir, n), 'latin1')));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function console(fw: Firmware, line: string): Promise<string> {
  let out = '';
  await runCommand(line.split(' '), { ctx: fw.ctx, surface: 'console', out: { write: (s) => void (out += s) }, err: { write: (s) => void (out += s) }, prompt: async () => null, hooks: fw.hooks });
  return out;
}

t.test('the board sends an aggregate report that validates against RFC 9990, and reads the reports it receives', async (t) => {
  const dns = await startDnsServer(t, {
    'sender.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    '_dmarc.sender.test': { TXT: [['v=DMARC1; p=none; ', 'rua=mailto:dmarc@yubin.test,mailto:reports@unauthorised.test']] },
    // yubin.test agrees to receive sender.test's reports (RFC 9990 §3); unauthorised.test does not.
    'sender.test._report._dmarc.yubin.test': { TXT: ['v=DMARC1'] },
  });
  const fw = await startInProcess(t, {
    'dns.servers': [dns.address], 'dns.timeoutMs': 2000, trustedNetworks: ['192.0.2.0/24'], 'smtp.greetingDelay': 0,
    'dmarcreport.from': 'dmarc-reports@yubin.test', 'dmarcreport.orgName': 'Yubin test office',
  }, [{ name: 'alice', password: 'alice-pass-1' }, { name: 'dmarc', password: 'dmarc-pass-1' }]);
  const port = fw.ports().smtp!;

  const mail = (from: string) => `From: ${from}\nTo: alice@yubin.test\nSubject: hello\nMessage-ID: <${Math.random()}@sender.test>\nDate: Thu, 03 Dec 2026 10:00:00 +0000\n\nhello\n`;
  t.match(await send(port, 'bob@sender.test', '127.0.0.1', 'alice@yubin.test', mail('bob@sender.test')), /^250 /, 'passes DMARC (SPF aligned)');
  t.match(await send(port, 'bob@sender.test', '127.0.0.2', 'alice@yubin.test', mail('bob@sender.test')), /^250 /, 'fails DMARC, p=none: delivered');
  t.match(await send(port, 'bob@sender.test', '127.0.0.2', 'alice@yubin.test', mail('bob@sender.test')), /^250 /);

  // The day is over: its reports go out (the clock of the check moved a day on).
  const queued = await fw.hooks.sendDmarcReports!(Date.now() + 86_400_000);
  t.equal(queued, 1, 'one report: sender.test');
  const [report = ''] = await waitFor('the report in the dmarc mailbox', async () => {
    const m = await mailbox(fw, 'dmarc');
    return m.length > 0 ? m : undefined;
  });
  t.match(report, /^Subject: Report Domain: sender\.test Submitter: Yubin test office Report-ID: <[^>]+@mx\.yubin\.test>\r$/m, 'the RFC 9990 §3.1.1 subject');
  t.match(report, /^To: dmarc@yubin\.test\r$/m, 'only the authorised rua address');
  const name = /filename="(mx\.yubin\.test!sender\.test!\d+!\d+![0-9a-f]+\.xml\.gz)"/.exec(report)?.[1];
  t.ok(name, `attachment named receiver!domain!begin!end!id.xml.gz: ${name}`);
  const b64 = /Content-Transfer-Encoding: base64\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n--/.exec(report)![1]!;
  const dir = await tempDir(t);
  const file = join(dir, name!);
  await writeFile(file, Buffer.from(b64.replace(/\r\n/g, ''), 'base64'));
  const { stdout } = await run('/usr/bin/python3', [join(HERE, 'validate.py'), join(HERE, 'data/rfc9990-dmarc-2.0.xsd'), file]);
  const parsed = JSON.parse(stdout) as { org_name: string; email: string; begin: number; end: number; domain: string; p: string; discovery_method: string; records: Array<Record<string, unknown>> };
  t.match(parsed, { org_name: 'Yubin test office', email: 'dmarc-reports@yubin.test', domain: 'sender.test', p: 'none', discovery_method: 'treewalk' });
  t.equal(parsed.end - parsed.begin, 86_399, 'one UTC day');
  t.equal(parsed.begin % 86_400, 0, 'from 00:00 UTC');
  t.same(parsed.records.sort((a, b) => String(a.source_ip).localeCompare(String(b.source_ip))), [
    { source_ip: '127.0.0.1', count: 1, disposition: 'none', dkim: 'fail', spf: 'pass', header_from: 'sender.test', spf_result: 'pass' },
    { source_ip: '127.0.0.2', count: 2, disposition: 'none', dkim: 'fail', spf: 'fail', header_from: 'sender.test', spf_result: 'fail' },
  ], 'one record per source and result, counted');
  t.equal(await fw.hooks.sendDmarcReports!(Date.now() + 86_400_000), 0, 'a day is sent once');

  // In: Google's report about yubin.test, gzip attached.
  const xml = (await readFile(join(HERE, 'data/sample-report.xml'), 'utf8'));
  const gz = gzipSync(xml).toString('base64').replace(/.{76}/g, '$&\n');
  const incoming = [
    'From: noreply-dmarc-support@google.test', 'To: postmaster@yubin.test', 'Subject: Report domain: yubin.test Submitter: google.test Report-ID: 1234',
    'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b1"', '', '--b1', 'Content-Type: text/plain', '', 'report attached', '',
    '--b1', 'Content-Type: application/gzip; name="google.test!yubin.test!1764720000!1764806399.xml.gz"', 'Content-Transfer-Encoding: base64', '', gz, '--b1--', '',
  ].join('\n');
  const before = await console(fw, 'show dmarc');
  t.equal(before, 'no DMARC aggregate reports received yet\n');
  t.match(await send(port, 'noreply-dmarc-support@google.test', '127.0.0.3', 'postmaster@yubin.test', incoming), /^250 /);
  const shown = await console(fw, 'show dmarc');
  t.match(shown, 'yubin.test: 1 report from google.test (2025-12-03 to 2025-12-03)');
  t.match(shown, '  110 messages claimed yubin.test; 10 failed DMARC (0 quarantined, 10 rejected by the receivers)');
  t.match(shown, '  failing from 198.51.100.66: 10 of 10');
  t.match(await send(port, 'noreply-dmarc-support@google.test', '127.0.0.3', 'postmaster@yubin.test', incoming), /^250 /);
  t.match(await console(fw, 'show dmarc'), 'yubin.test: 1 report from', 'the same report again is not counted twice');
});

// Strangers send these: a gzip bomb of elements (a few KiB that unpack to MiBs of <r/>) and an
// oversize report are refused by name in the log, the mail is accepted and delivered as any other,
// and a good report after them is still read.
t.test('a report that unpacks to too many elements or too many bytes is skipped, named, and the mail still arrives', async (t) => {
  const logged: string[] = [];
  const log = { log: (level: string, msg: string, fields?: Record<string, unknown>) => void logged.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`) };
  const dataDir = await tempDir(t);
  await seed(dataDir, { ...BASE_SETTINGS, domains: ['yubin.test'], 'smtp.greetingDelay': 0 }, [{ name: 'alice', password: 'alice-pass-1' }]);
  const fw = await startFirmware({ dataDir, ephemeralPorts: true, log });
  t.teardown(() => fw.stop());
  const port = fw.ports().smtp!;
  const head = '<?xml version="1.0"?><feedback><report_metadata><org_name>bomb.test</org_name><email>x@bomb.test</email><report_id>b</report_id><date_range><begin>1764720000</begin><end>1764806399</end></date_range></report_metadata><policy_published><domain>yubin.test</domain><p>none</p></policy_published>';
  const attach = (name: string, xml: string) => [
    'From: reports@bomb.test', 'To: postmaster@yubin.test', `Subject: Report domain: yubin.test ${name}`, 'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b1"', '', '--b1', 'Content-Type: text/plain', '', 'report attached', '',
    `--b1`, `Content-Type: application/gzip; name="${name}.xml.gz"`, 'Content-Transfer-Encoding: base64', '',
    gzipSync(xml).toString('base64').replace(/.{76}/g, '$&\n'), '--b1--', '',
  ].join('\n');
  const many = `${head}${'<r/>'.repeat(60_000)}</feedback>`;
  const big = `${head}<x>${'a'.repeat(5 * 1024 * 1024)}</x></feedback>`;
  for (const [name, xml] of [['many', many], ['big', big]] as const) {
    t.match(await send(port, 'reports@bomb.test', '127.0.0.3', 'alice@yubin.test', attach(name, xml)), /^250 /, `${name}: accepted`);
  }
  t.ok(logged.some((l) => /not a readable DMARC report .*more than 50000 elements/.test(l)), 'the element bomb is named in the log');
  t.ok(logged.some((l) => /not a readable DMARC report .*gzip unpacks to more than 4194304 bytes/.test(l)), 'the oversize report is named in the log');
  t.equal(await console(fw, 'show dmarc'), 'no DMARC aggregate reports received yet\n', 'neither counted');
  const delivered = await waitFor('both delivered', async () => ((await mailbox(fw, 'alice')).length >= 2 ? true : undefined));
  t.ok(delivered, 'both messages delivered');
});
