// Content stage: the spam score (docs/REQUIREMENTS.md §5: delete spam with the least admin work). Inbound mail is
// scored from our authentication results, block lists and header heuristics — or by rspamd when
// one is configured — then tagged (X-Spam-*), held in the self-expiring quarantine, or refused.
import { open } from 'node:fs/promises';
import type { Context } from '../context.ts';
import { outboundBecause, type MessageContext, type Stage, type Verdict } from '../pipeline/stage.ts';
import type { FileHead } from '../mail/types.ts';
import { readHead } from '../mime/mime.ts';
import { authHits, parseAuthResults, headerHits, type Hit } from './rules.ts';
import { AUTH_RESULTS } from '../senderauth/facts.ts';
import { dnsblListings, rhsblListings } from './dnsbl.ts';
import { askRspamd } from './rspamd.ts';

const BODY_SAMPLE = 16 * 1024;

async function bodyStart(path: string, head?: FileHead): Promise<string> {
  if (head && (head.whole || head.bytes.length >= BODY_SAMPLE * 2)) return head.bytes.subarray(0, BODY_SAMPLE * 2).toString('latin1');
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(BODY_SAMPLE * 2);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('latin1');
  } finally {
    await handle.close();
  }
}

const domainOf = (addr: string) => (/@([^@>\s]+)>?\s*$/.exec(addr)?.[1] ?? '').toLowerCase().replace(/\.$/, '');

/** Resolves to what `work` gave, or to `fallback` once `ms` have passed. */
function within<T>(work: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Our own rules for one message: every hit with its points. */
export async function scoreMessage(message: MessageContext, context: Context): Promise<Hit[]> {
  const s = context.store;
  const head = await readHead(message.path, undefined, message.head);
  // Our own sender checks left their results in the memo; else an upstream server of ours (the edge,
  // spam.authservId) wrote them into the message.
  const ours = message.memo?.get(AUTH_RESULTS);
  const results = ours ?? parseAuthResults(head.get('authentication-results'), s.get('spam.authservId') || s.get('hostname'));
  const hits = [...authHits(results), ...headerHits(head, await bodyStart(message.path, message.head))];
  const limit = s.get('spam.timeout') * 1000;
  const [dnsbl, rhsbl] = await Promise.all([
    within(dnsblListings(message.client.address, s.get('spam.dnsbl'), context), limit, []),
    within(rhsblListings([domainOf(message.mailFrom), domainOf(head.getFirst('from'))], s.get('spam.rhsbl'), context), limit, []),
  ]);
  for (const zone of dnsbl) hits.push({ rule: `DNSBL(${zone})`, points: s.get('spam.dnsblScore') });
  for (const what of rhsbl) hits.push({ rule: `RHSBL(${what})`, points: s.get('spam.rhsblScore') });
  return hits;
}

export const spamStage: Stage = async (message: MessageContext, context: Context): Promise<Verdict> => {
  // Our own users' mail is not scored: they authenticated, and outbound abuse is the relay policy's job.
  if (message.direction !== 'inbound') return { action: 'accept', facts: { skipped: `outbound mail, ${outboundBecause(message.client)}: not scored` } };
  const s = context.store;
  let score: number;
  let tests: string;
  const rspamd = s.get('spam.rspamdUrl');
  let answer = null;
  if (rspamd) {
    answer = await askRspamd(rspamd, message, s.get('spam.timeout') * 1000).catch((err: Error) => {
      context.log.log('warn', 'rspamd unavailable, using our own rules', { error: err.message });
      return null;
    });
  }
  if (answer) {
    score = Math.round(answer.score * 10) / 10;
    tests = `rspamd(${answer.action})`;
  } else {
    const hits = await scoreMessage(message, context);
    score = hits.reduce((sum, h) => sum + h.points, 0);
    tests = hits.map((h) => `${h.rule}(${h.points})`).join(',') || 'none';
  }

  const tag = s.get('spam.tagScore');
  const spam = score >= tag;
  const headers = [`X-Spam-Status: ${spam ? 'Yes' : 'No'}, score=${score} required=${tag} tests=${tests}`, `X-Spam-Score: ${score}`];
  if (spam) headers.push('X-Spam-Flag: YES');
  const event = (action: 'tag' | 'quarantine' | 'reject') =>
    context.bus.emit('spam.detected', { queueId: message.queueId, client: message.client.address, from: message.mailFrom, score, action });

  const facts = { score, required: tag, tests };
  if (score >= s.get('spam.rejectScore')) {
    event('reject');
    return { action: 'reject', code: 550, enhanced: '5.7.1', text: `Message refused as spam (score ${score}: ${tests.slice(0, 200)})`, facts };
  }
  if (score >= s.get('spam.quarantineScore')) {
    event('quarantine');
    return { action: 'quarantine', reason: `spam score ${score} (${tests})`, headers, facts };
  }
  if (spam) event('tag');
  return { action: 'accept', headers, facts: { ...facts, ...(spam ? { tagged: true } : {}) } };
};
