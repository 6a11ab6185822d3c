// The mis-send delay (docs/REQUIREMENTS.md §7, "mail that is not sent at once"): outbound mail from local users
// waits hold.delaySeconds before it leaves, so a message sent to the wrong person can be taken back.
import type { Context } from '../context.ts';
import type { QueueEntry } from '../spool/entry.ts';

export type HoldFacts = Pick<QueueEntry, 'direction' | 'mailFrom' | 'rcpts'>;

/** Epoch ms until which the message must wait, or undefined when the delay does not apply. */
export function holdUntilFor(entry: HoldFacts, ctx: Pick<Context, 'store'>, now = Date.now()): number | undefined {
  const seconds = ctx.store.get('hold.delaySeconds');
  if (seconds <= 0 || entry.direction !== 'outbound' || entry.mailFrom === '') return undefined;
  const domains = ctx.store.get('hold.domains');
  const applies = entry.rcpts.some((r) => r.route.kind === 'remote' && (domains.length === 0 || domains.includes(r.route.domain.toLowerCase())));
  return applies ? now + seconds * 1000 : undefined;
}
