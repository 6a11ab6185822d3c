// The queue station as the firmware wires it: the queue manager over the spool with every delivery
// agent (local mailboxes, the internal server, remote MX) and bounces for what fails for good.
// The supervisor and the delivery tests build it here, so the tests run what the board runs.
import type { Context } from '../src/context.ts';
import type { Spool } from '../src/spool/spool.ts';
import { Qmgr } from '../src/qmgr/qmgr.ts';
import { createMailboxDeliverer } from '../src/local/mda.ts';
import { createOutbound } from '../src/outbound/deliverer.ts';
import { attachBounces } from '../src/bounce/service.ts';
import { createStsPolicy } from '../src/mtasts/outbound.ts';
import { TlsReportRecorder } from '../src/tlsrpt/recorder.ts';

export interface QueueStationOptions {
  /** Where outbound TLS outcomes are counted for TLS-RPT (the report sender reads the same one). */
  recorder?: TlsReportRecorder;
}

export function tlsReportRecorder(ctx: Context): TlsReportRecorder {
  return new TlsReportRecorder(ctx.dataDir, () => ctx.store.get('tlsrpt.enabled'));
}

export function createQueueStation(ctx: Context, spool: Spool, options: QueueStationOptions = {}): Qmgr {
  const messagePath = (id: string) => spool.messagePath(id);
  // MTA-STS decides the MX list and TLS of each remote domain; each session's TLS goes to TLS-RPT.
  const transport = createStsPolicy(ctx, { recorder: options.recorder ?? tlsReportRecorder(ctx) });
  const outbound = createOutbound(ctx, { messagePath, transport });
  const qmgr = new Qmgr(ctx, spool, {
    mailbox: createMailboxDeliverer(ctx, messagePath),
    remote: outbound.remote,
    internal: outbound.internal,
  });
  attachBounces(qmgr, { ctx, spool });
  return qmgr;
}
