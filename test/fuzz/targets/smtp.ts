// Target "smtp": sessions on the MTA port of a firmware child process, one to three at once from
// outside addresses (127.0.x.y, never the trusted 127.0.0.1). Every reply is a well-formed SMTP
// reply; the process survives (an unhandled rejection ends it) and still greets; a stranger never
// gets a RCPT outside the local domains accepted (each RCPT paired with its reply: the relay
// decision is made there, DATA only delivers what RCPT accepted). After the run a normal message
// is still accepted, and the firmware's RSS stayed bounded.
import fc from 'fast-check';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { maildirOf } from '../../../src/maildir/maildir.ts';
import { sendMessage } from '../../faults/fixtures/mail.ts';
import { smtpSession, stepBytes, type SmtpSession } from '../gen/smtp.ts';
import { parseReplies, countReplies, rcptReplies, rcptAddress } from '../oracles/smtp.ts';
import { plainLocalRecipient } from '../oracles/relay.ts';
import { play, startWireFirmware, rssKiB, type Chunk } from '../wire.ts';
import type { Target } from '../harness.ts';

interface SmtpCase {
  sessions: SmtpSession[];
}

/** Peak RSS the old fuzzer allowed (password checks, scrypt at 16 MiB on 4 threads, make most of it). */
export const RSS_LIMIT_KIB = 320 * 1024;

const LOCAL_DOMAINS = ['yubin.test', 'xn--bcher-kva.test'];

async function emptyFolder(dir: string): Promise<void> {
  for (const f of await readdir(dir).catch(() => [] as string[])) await rm(join(dir, f), { force: true });
}

async function chunksOf(s: SmtpSession): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  for (const step of s.steps) {
    if (step.kind === 'pause') chunks.push({ pause: step.ms });
    // A DATA body may take the content stages a while; a command's reply comes at once or never.
    else {
      for (const [i, bytes] of (await stepBytes(step)).entries()) {
        const body = step.kind === 'data' && i === 1;
        chunks.push({ bytes, wait: s.pipelined ? 0 : body ? 10_000 : 300, ...(body ? { after: '354' } : {}) });
      }
    }
  }
  if (!s.pipelined) return chunks;
  // Pipelined: everything between pauses in one write.
  const merged: Chunk[] = [];
  for (const c of chunks) {
    const last = merged.at(-1);
    if ('bytes' in c && last && 'bytes' in last) last.bytes = Buffer.concat([last.bytes, c.bytes]);
    else merged.push('bytes' in c ? { bytes: c.bytes, wait: 0 } : c);
  }
  return merged;
}

/** What a session did, for a failure report. */
async function transcript(c: SmtpCase): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const [i, s] of c.sessions.entries()) {
    parts.push(Buffer.from(`--- session ${i + 1} (${s.pipelined ? 'pipelined' : 'one reply at a time'}, then ${s.close}) ---\n`));
    for (const ch of await chunksOf(s)) parts.push('bytes' in ch ? ch.bytes : Buffer.from(`[pause ${ch.pause} ms]`));
  }
  return Buffer.concat(parts);
}

export const smtpTarget: Target<SmtpCase> = {
  name: 'smtp',
  property: 'replies well-formed (RFC 5321 §4.2), no unhandled rejection, still greeting, no relay for a stranger',
  arbitrary: fc.record({ sessions: fc.array(smtpSession, { minLength: 1, maxLength: 3 }) }),
  caseTimeoutMs: 60_000,
  async open() {
    const wire = await startWireFirmware({ domains: LOCAL_DOMAINS, 'mailbox.defaultQuota': 0 });
    let peak = 0;
    const sampler = setInterval(() => void rssKiB(wire.pid()).then((k) => (peak = Math.max(peak, k))), 200);
    let n = 0;
    return {
      render: transcript,
      async check(c) {
        n++;
        await wire.revive();
        const port = wire.ports().smtp!;
        const played = await Promise.all(c.sessions.map(async (s, k) => {
          const local = `127.0.${1 + k}.${10 + (n % 200)}`;
          return { s, local, p: await play(port, local, await chunksOf(s), s.close, countReplies) };
        }));
        const problems: string[] = [];
        for (const { s, local, p } of played) {
          const { replies, problems: form } = parseReplies(p.output, p.reset);
          problems.push(...form.map((f) => `${local}: ${f}`));
          if (replies[0] && replies[0].code !== 220) problems.push(`${local}: greeting ${replies[0].code} ${replies[0].lines[0]}`);
          for (const { line, reply } of rcptReplies(s, replies)) {
            if (reply.code >= 300) continue;
            const address = rcptAddress(line);
            if (address === null || !plainLocalRecipient(address, true)) problems.push(`${local}: relay: ${JSON.stringify(line)} got ${reply.code} ${reply.lines.join(' / ')}`);
          }
        }
        const probe = await play(port, '127.0.0.250', [{ bytes: Buffer.from('QUIT\r\n'), wait: 2000 }], 'end', countReplies);
        // A crash can come a moment after the reply (the 451, then the unhandled rejection).
        if (!probe.output.toString('latin1').startsWith('220 ')) await wire.exitWithin(2000);
        const trouble = wire.trouble();
        if (trouble) problems.push(trouble);
        else if (!probe.output.toString('latin1').startsWith('220 ')) problems.push(`the listener no longer greets: ${JSON.stringify(probe.output.toString('latin1').slice(0, 200))}`);
        // Accepted mail goes to alice's Maildir: keep the disk from filling over a long run.
        if (n % 50 === 0) await emptyFolder(join(maildirOf(wire.dataDir, 'alice'), 'new'));
        if (problems.length > 0) throw new Error(problems.join('\n'));
      },
      async finish() {
        clearInterval(sampler);
        const problems: string[] = [];
        await wire.revive();
        const reply = await sendMessage({ port: wire.ports().smtp!, local: '127.0.0.251', message: 'Subject: after the fuzz\r\n\r\nstill here\r\n', timeoutMs: 10_000 }).catch((e: Error) => e.message);
        if (!reply.startsWith('250')) problems.push(`a normal message after the fuzz got: ${reply}`);
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
