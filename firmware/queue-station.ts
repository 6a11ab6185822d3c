// The queue station as the firmware wires it: the queue manager over the spool with every delivery
// agent (local mailboxes, the internal server, remote MX) and bounces for what fails for good.
// The supervisor and the delivery tests build it here, so the tests run what the board runs.
import type { Context } from '../src/context.ts';
import type { Spool } from '../src/spool/spool.ts';
import { Qmgr } from '../src/qmgr/qmgr.ts';
import { createMailboxDeliverer } from '../src/local/mda.ts';
import { createOutbound } from '../src/outbound/deliverer.ts';
import { attachBounces } from '../src/bounce/service.ts';

export function createQueueStation(ctx: Context, spool: Spool): Qmgr {
  const messagePath = (id: string) => spool.messagePath(id);
  const outbound = createOutbound(ctx, { messagePath });
  const qmgr = new Qmgr(ctx, spool, {
    mailbox: createMailboxDeliverer(ctx, messagePath),
    remote: outbound.remote,
    internal: outbound.internal,
  });
  attachBounces(qmgr, { ctx, spool });
  return qmgr;
}
