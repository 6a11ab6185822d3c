// Target "pop3": sessions on the POP3 port of a firmware child process (cleartext logins allowed,
// throttles off so the fuzzer is not slowed), one to three at once. Every response is what RFC
// 1939 allows for the command it answers (oracles/pop3.ts), dot-stuffing included; the process
// survives and still greets. The maildrop is refilled over SMTP as sessions delete from it.
import fc from 'fast-check';
import { sendMessage } from '../../faults/fixtures/mail.ts';
import { pop3Session, type Pop3Session } from '../gen/pop3.ts';
import { ENDINGS } from '../gen/session.ts';
import { checkPop3, countStatus, serverLines } from '../oracles/pop3.ts';
import { play, startWireFirmware, rssKiB, type Chunk } from '../wire.ts';
import { RSS_LIMIT_KIB } from './smtp.ts';
import type { Target } from '../harness.ts';

interface Pop3Case {
  sessions: Pop3Session[];
}

/** Messages whose lines test the server's dot-stuffing and 8-bit handling (RFC 1939 §3). */
const DROP = [
  'Subject: plain\r\n\r\nhello\r\n',
  'Subject: dots\r\n\r\n.\r\n..\r\n.hidden\r\n. \r\nend\r\n',
  'Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\u65e5\u672c\u8a9e\r\n',
  `Subject: long\r\n\r\n${'x'.repeat(990)}\r\n${'line\r\n'.repeat(2000)}`,
];

function chunksOf(s: Pop3Session): { chunks: Chunk[]; sent: Buffer } {
  const chunks: Chunk[] = [];
  for (const step of s.steps) {
    if (step.kind === 'pause') chunks.push({ pause: step.ms });
    else {
      // A password check (scrypt) takes a while; any other reply comes at once or never.
      const slow = step.kind === 'line' && /^(pass|apop|auth)\b|^[A-Za-z0-9+/]{8,}=*$/i.test(step.text);
      chunks.push({ bytes: step.kind === 'line' ? Buffer.from(step.text + ENDINGS[step.ending], 'latin1') : Buffer.from(step.bytes), wait: s.pipelined ? 0 : slow ? 3000 : 300 });
    }
  }
  const sent = Buffer.concat(chunks.flatMap((c) => ('bytes' in c ? [c.bytes] : [])));
  if (!s.pipelined) return { chunks, sent };
  return { chunks: [{ bytes: sent, wait: 0 }], sent };
}

export const pop3Target: Target<Pop3Case> = {
  name: 'pop3',
  property: 'responses well-formed for the command each answers (RFC 1939, 2449, 5034), dot-stuffed, the process survives and still greets',
  arbitrary: fc.record({ sessions: fc.array(pop3Session, { minLength: 1, maxLength: 3 }) }),
  caseTimeoutMs: 60_000,
  async open() {
    const wire = await startWireFirmware({});
    const refill = async () => {
      for (const message of DROP) await sendMessage({ port: wire.ports().smtp!, local: '127.0.0.2', message });
    };
    await refill();
    let peak = 0;
    const sampler = setInterval(() => void rssKiB(wire.pid()).then((k) => (peak = Math.max(peak, k))), 200);
    let n = 0;
    return {
      render: (c) => Buffer.concat(c.sessions.flatMap((s, i) => [Buffer.from(`--- session ${i + 1} (${s.pipelined ? 'pipelined' : 'one reply at a time'}, then ${s.close}) ---\n`), chunksOf(s).sent])),
      async check(c) {
        n++;
        if (await wire.revive()) await refill();
        if (n % 25 === 0) await refill();
        const port = wire.ports().pop3!;
        const problems: string[] = [];
        await Promise.all(c.sessions.map(async (s, k) => {
          const local = `127.0.${1 + k}.${10 + (n % 200)}`;
          const { chunks, sent } = chunksOf(s);
          const p = await play(port, local, chunks, s.close, countStatus);
          problems.push(...checkPop3(serverLines(sent), p.output, p.reset).map((f) => `${local}: ${f}`));
        }));
        const probe = await play(port, '127.0.0.250', [{ bytes: Buffer.from('QUIT\r\n'), wait: 2000 }], 'end', countStatus);
        if (!probe.output.toString('latin1').startsWith('+OK')) await wire.exitWithin(2000);
        const trouble = wire.trouble();
        if (trouble) problems.push(trouble);
        else if (!probe.output.toString('latin1').startsWith('+OK')) problems.push(`the listener no longer greets: ${JSON.stringify(probe.output.toString('latin1').slice(0, 200))}`);
        if (problems.length > 0) throw new Error(problems.join('\n'));
      },
      async finish() {
        clearInterval(sampler);
        const problems: string[] = [];
        await wire.revive();
        const probe = await play(wire.ports().pop3!, '127.0.0.251', ['USER alice', 'PASS alice-password-1', 'STAT', 'QUIT'].map((l) => ({ bytes: Buffer.from(`${l}\r\n`), wait: 5000 })), 'end', countStatus);
        if (!/\r\n\+OK \d+ \d+\r\n/.test(probe.output.toString('latin1'))) problems.push(`a normal login after the fuzz got: ${JSON.stringify(probe.output.toString('latin1').slice(0, 300))}`);
        if (peak > RSS_LIMIT_KIB) problems.push(`peak RSS of the firmware ${Math.round(peak / 1024)} MiB over ${RSS_LIMIT_KIB / 1024} MiB`);
        return problems;
      },
      async close() {
        clearInterval(sampler);
        await wire.close();
      },
    };
  },
};
