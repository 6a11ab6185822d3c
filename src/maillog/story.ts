// `yubin trace QUEUE-ID | ADDRESS`: a message's story told from the trace index — when it came,
// from where, what each check said, where each recipient went (every attempt and its reply) — and
// where it is now (the queue, the quarantine, or done), read from the spool and the quarantine.
import type { Context } from '../context.ts';
import { Spool } from '../spool/spool.ts';
import { isQueueId } from '../spool/queue-id.ts';
import { Quarantine } from '../quarantine/store.ts';
import { scanTrace, traceFolder, type TraceRecord } from './index.ts';

export interface TraceQuery {
  /** A queue ID, or an address (the sender or a recipient). */
  target: string;
  /** Epoch ms: nothing older. */
  since?: number;
  /** For an address: the most recent messages told, at most. */
  limit?: number;
}

const NOQUEUE = 'NOQUEUE';

const when = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 23);
const facts = (f: Readonly<Record<string, string | number | boolean>> | undefined) =>
  f ? Object.entries(f).map(([k, v]) => (k === 'skipped' ? `skipped: ${v}` : `${k}=${v}`)).join(' ') : '';

function line(r: TraceRecord): string {
  switch (r.k) {
    case 'arrived': {
      const who = [`from ${r.client}${r.host ? ` (${r.host})` : ''}`, r.helo ? `helo ${r.helo}` : '', `on ${r.listener}`, r.session ? `session ${r.session}` : '', r.tls ? r.tls : 'no TLS', r.user ? `user ${r.user}` : ''].filter(Boolean).join(', ');
      const trust = r.trusted ? 'trustedNetworks' : 'not trusted';
      return `arrived      ${who}; ${trust}, ${r.direction}; <${r.from}> to ${r.rcpts.join(', ')}; ${r.size} bytes`;
    }
    case 'check':
      return `check        ${r.stage}: ${facts(r.facts) || 'nothing to report'}${r.action === 'accept' ? '' : ` -> ${r.action}`}`;
    case 'queued':
      return `queued       ${r.n} recipient${r.n === 1 ? '' : 's'}, ${r.size} bytes`;
    case 'quarantine':
      return `quarantine   ${r.what} ${r.id}${r.why ? `: ${r.why}` : ''}`;
    case 'outcome': {
      const to = `${r.to}${r.origTo ? ` (for ${r.origTo})` : ''}`;
      const parts = [
        r.relay ? `via ${r.relay}` : '',
        r.stage === 'rcpt' ? 'at RCPT' : r.stage === 'data' ? 'at DATA' : r.stage ? `by ${r.stage}` : '',
        r.attempts ? `attempt ${r.attempts}` : '',
        r.delay !== undefined ? `${r.delay} s after arrival` : '',
        r.quarantine ? `quarantine id ${r.quarantine}` : '',
        r.status === 'deferred' && r.until ? `next try ${when(r.until)}` : '',
      ].filter(Boolean);
      return `${r.status.padEnd(12)} ${to}${parts.length ? ` (${parts.join(', ')})` : ''}: ${r.reply}`;
    }
  }
}

/** Where the message is now, from the queue and the quarantine (or what its last lines said). */
async function now(ctx: Context, id: string, records: TraceRecord[]): Promise<string> {
  if (id === NOQUEUE) return 'never accepted: nothing was queued';
  const entry = await new Spool(ctx.dataDir).load(id).catch(() => null);
  if (entry) {
    const pending = entry.rcpts.filter((r) => r.status === 'pending');
    const hold = entry.held ? ` HELD by the administrator (queue release ${id})` : entry.holdUntil && entry.holdUntil > Date.now() ? ` in the mis-send delay until ${when(entry.holdUntil)}` : '';
    const next = pending.length > 0 ? `; next try ${when(Math.min(...pending.map((r) => r.nextAttempt)))}` : '';
    return `in the queue${hold}: ${pending.map((r) => r.address).join(', ') || 'nothing'} waiting${next}`;
  }
  const held = [...records].reverse().find((r) => r.k === 'quarantine' || (r.k === 'outcome' && r.quarantine));
  const qid = held?.k === 'quarantine' ? held.id : held?.k === 'outcome' ? held.quarantine : undefined;
  if (qid) {
    const found = await new Quarantine(ctx).show(qid).catch(() => null);
    if (found) return `in quarantine as ${qid} until ${found.held.expiresAt.slice(0, 16).replace('T', ' ')} (quarantine release ${qid} delivers it)`;
    const gone = [...records].reverse().find((r) => r.k === 'quarantine' && r.id === qid && r.what !== 'held');
    return gone?.k === 'quarantine' ? `quarantine ${qid} ${gone.what}${gone.why ? ` (${gone.why})` : ''}` : `no longer in quarantine (${qid} released, deleted or expired)`;
  }
  // Out of the queue: each recipient's last outcome says how it ended.
  const last = new Map<string, string>();
  for (const r of records) if (r.k === 'outcome') last.set(r.to, r.status);
  if (last.size === 0) return records.some((r) => r.k === 'queued') ? 'not in the queue any more' : 'not in the queue';
  const counts = new Map<string, number>();
  for (const s of last.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
  return `done: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`;
}

function header(id: string, records: TraceRecord[]): string {
  const arrived = records.find((r) => r.k === 'arrived');
  const outcome = records.find((r) => r.k === 'outcome');
  const from = arrived?.k === 'arrived' ? arrived.from : outcome?.k === 'outcome' ? outcome.from : '?';
  const to = arrived?.k === 'arrived' ? arrived.rcpts : [...new Set(records.flatMap((r) => (r.k === 'outcome' ? [r.to] : [])))];
  return `${id}  <${from}> to ${to.join(', ')}`;
}

/** The story as text, one block per message. */
export async function traceStory(ctx: Context, query: TraceQuery): Promise<string> {
  const dir = traceFolder(ctx.dataDir);
  const since = query.since ?? 0;
  const target = query.target.trim();
  const byId = isQueueId(target.toUpperCase());
  let groups: Array<[string, TraceRecord[]]>;
  if (byId) {
    const id = target.toUpperCase();
    groups = [[id, (await scanTrace(dir, [id], since)).filter((r) => r.q === id)]];
  } else {
    const address = target.replace(/^<|>$/g, '').toLowerCase();
    const mentions = (await scanTrace(dir, [address], since)).filter((r) => concerns(r, address));
    const ids = [...new Set(mentions.flatMap((r) => (r.q ? [r.q] : [])))];
    const all = ids.length > 0 ? await scanTrace(dir, ids, since) : [];
    const byQueue = new Map<string, TraceRecord[]>();
    // Refused at RCPT: no queue ID; each refusal (one per session and sender) is a story of its own.
    for (const r of mentions) if (r.q === null && r.k === 'outcome') push(byQueue, `${NOQUEUE} ${r.session ?? ''} ${r.from}`, r);
    for (const r of all) if (r.q && ids.includes(r.q)) push(byQueue, r.q, r);
    groups = [...byQueue].sort((a, b) => a[1][0]!.t - b[1][0]!.t).slice(-(query.limit ?? 20));
  }
  const blocks: string[] = [];
  for (const [key, records] of groups) {
    const id = key.startsWith(NOQUEUE) ? NOQUEUE : key;
    if (records.length === 0) {
      blocks.push(`${id}: nothing in the trace${since ? ' since then' : ''} (kept for trace.days); ${await now(ctx, id, records)}`);
      continue;
    }
    const lines = [header(id, records), ...records.map((r) => `  ${when(r.t)}  ${line(r)}`), `  now: ${await now(ctx, id, records)}`];
    blocks.push(lines.join('\n'));
  }
  if (blocks.length === 0) return `${target}: no mail to or from it in the trace${since ? ' since then' : ''} (kept for trace.days)\n`;
  return blocks.join('\n\n') + '\n';
}

function push(map: Map<string, TraceRecord[]>, key: string, r: TraceRecord): void {
  const list = map.get(key);
  if (list) list.push(r);
  else map.set(key, [r]);
}

function concerns(r: TraceRecord, address: string): boolean {
  const is = (a: string | undefined) => a !== undefined && a.toLowerCase() === address;
  if (r.k === 'arrived') return is(r.from) || r.rcpts.some(is);
  if (r.k === 'outcome') return is(r.from) || is(r.to) || is(r.origTo);
  return false;
}
