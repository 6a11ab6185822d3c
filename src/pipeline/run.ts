// The content pipeline as a station of its own: the runner that takes a spooled message through
// the stages (firmware/stages.ts) in phase order (check → modify → scan → sign → record, see
// PHASES), merges the header fields they return in one place, keeps what they learn in the
// message's memo, follows a rewrite to its new file, and carries out their requests (refuse,
// quarantine, keep a copy). The SMTP listener only spools and commits (src/smtpd/receive.ts).
import { unlink, stat } from 'node:fs/promises';
import type { Context } from '../context.ts';
import { Memo, PHASES, type MessageContext, type NamedStage } from './stage.ts';
import type { Reply } from '../mail/types.ts';

/** Where a quarantined message (or a copy) goes: the firmware's quarantine. */
export type QuarantineHook = (message: MessageContext, reason: string, prepend: readonly string[], stage: string) => Promise<{ id: string; expiresAt: string }>;

export interface Pipeline {
  readonly stages: readonly NamedStage[];
  run(message: MessageContext, ctx: Context): Promise<PipelineOutcome>;
}

export type PipelineOutcome =
  /** Go on and queue `path` (the original file, or the last rewrite) with these header fields in front. */
  | { kind: 'accepted'; path: string; size: number; prepend: string[] }
  | ({ kind: 'refused'; stage: string; action: 'reject' | 'tempfail' } & Reply)
  | { kind: 'quarantined'; stage: string; id: string };

/** The stages in the order they run: by phase, and within a phase as listed. */
export function inPhaseOrder(stages: readonly NamedStage[]): NamedStage[] {
  for (const s of stages) if (!PHASES.includes(s.phase)) throw new Error(`stage ${s.name}: unknown phase ${String(s.phase)}`);
  return [...stages].sort((a, b) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase));
}

export function createPipeline(stages: readonly NamedStage[], quarantine?: QuarantineHook): Pipeline {
  const ordered = inPhaseOrder(stages);
  return {
    stages: ordered,
    async run(message, ctx) {
      const memo = message.memo ?? new Memo();
      // Later stages' fields go on top, as trace fields do (RFC 5322 §3.6.7).
      const prepend = [...(message.prepend ?? [])];
      let current: MessageContext = message;
      const at = (m: MessageContext): MessageContext => forStages(m, { prepend, memo, ...(quarantine ? { quarantine } : {}) });
      current = at(current);
      try {
        for (const stage of ordered) {
          const verdict = await stage.run(current, ctx);
          ctx.bus.emit('message.checked', { queueId: message.queueId, stage: stage.name, action: verdict.action, ...(verdict.facts ? { facts: verdict.facts } : {}) });
          if (verdict.action === 'reject' || verdict.action === 'tempfail') {
            ctx.bus.emit('message.rejected', { client: message.client.address, from: message.mailFrom, code: verdict.code, text: verdict.text });
            await dropRewrite(message, current);
            return { kind: 'refused', stage: stage.name, action: verdict.action, code: verdict.code, enhanced: verdict.enhanced, text: verdict.text };
          }
          if (verdict.headers) prepend.unshift(...verdict.headers);
          if (verdict.action === 'quarantine') {
            if (!quarantine) throw new Error(`stage ${stage.name} asked for quarantine but none is configured`);
            const held = await quarantine(current, verdict.reason, prepend, stage.name);
            await dropRewrite(message, current);
            return { kind: 'quarantined', stage: stage.name, id: held.id };
          }
          if (verdict.replacement && verdict.replacement !== current.path) {
            // The rewrite replaces the message for every later stage; the in-memory start is gone.
            if (current.path !== message.path) await unlink(current.path).catch(() => undefined);
            const { head: _dropped, ...rest } = current;
            current = at({ ...rest, path: verdict.replacement, size: (await stat(verdict.replacement)).size });
          }
        }
      } catch (err) {
        // A stage that fails (a full disk under the attachment scan's scratch files) leaves no rewrite behind.
        await dropRewrite(message, current);
        throw err;
      }
      return { kind: 'accepted', path: current.path, size: current.size, prepend };
    },
  };
}

/** A message as the stages see it: the merged header fields so far, its memo, and the quarantine for copies. */
export function forStages(m: MessageContext, with_: { prepend?: string[]; memo?: Memo; quarantine?: QuarantineHook }): MessageContext {
  const q = with_.quarantine;
  return {
    ...m,
    prepend: with_.prepend ?? [...(m.prepend ?? [])],
    memo: with_.memo ?? m.memo ?? new Memo(),
    ...(q ? { holdCopy: (reason: string, stage: string) => q(m, reason, [], stage) } : {}),
  };
}

async function dropRewrite(original: MessageContext, current: MessageContext): Promise<void> {
  if (current.path !== original.path) await unlink(current.path).catch(() => undefined);
}
