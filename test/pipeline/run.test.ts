// The pipeline runner (src/pipeline/run.ts): phases run in order whatever the list says, header
// fields merge in one place, facts pass through the message's memo, and each message's inspection
// is made once however many messages are in flight.
import t from 'tap';
import { createPipeline, inPhaseOrder } from '../../src/pipeline/run.ts';
import { memoKey, type NamedStage, type Phase } from '../../src/pipeline/stage.ts';
import { stages } from '../../firmware/stages.ts';
import { inspectCached, INSPECTION } from '../../src/inspect/inspect.ts';
import { inspectLimits } from '../../src/inspect/limits.ts';
import { contentContext, spooled, compose } from '../quarantine/fixture.ts';

const seen: string[] = [];
const stage = (name: string, phase: Phase, headers: string[] = []): NamedStage => ({ name, phase, run: async () => (seen.push(name), { action: 'accept', headers }) });

t.test('the firmware\'s stages are listed in phase order, and the runner keeps to it for any list', async (t) => {
  t.same(inPhaseOrder(stages).map((s) => s.name), stages.map((s) => s.name), 'firmware/stages.ts is already in phase order');
  t.same(stages.map((s) => [s.name, s.phase]), [['senderauth', 'check'], ['encrypted', 'check'], ['attachments', 'modify'], ['antivirus', 'scan'], ['spam', 'scan'], ['dkimsign', 'sign'], ['archive', 'record']]);
  const ctx = await contentContext(t);
  seen.length = 0;
  const p = createPipeline([stage('archive', 'record'), stage('sign', 'sign', ['DKIM-Signature: x']), stage('check', 'check', ['Authentication-Results: y']), stage('modify', 'modify')]);
  const outcome = await p.run(await spooled(ctx, 'Subject: x\r\n\r\nbody\r\n'), ctx);
  t.same(seen, ['check', 'modify', 'sign', 'archive']);
  t.same(outcome.kind === 'accepted' ? outcome.prepend : null, ['DKIM-Signature: x', 'Authentication-Results: y'], 'later fields on top, merged once');
  t.throws(() => createPipeline([{ name: 'odd', phase: 'later' as Phase, run: async () => ({ action: 'accept' }) }]), /unknown phase/);
});

t.test('a fact left in the memo reaches a later stage of the same message only', async (t) => {
  const ctx = await contentContext(t);
  const KEY = memoKey<number>('test.fact');
  const got: Array<number | undefined> = [];
  const p = createPipeline([
    { name: 'reader', phase: 'scan', run: async (m) => (got.push(m.memo?.get(KEY)), { action: 'accept' }) },
    { name: 'writer', phase: 'check', run: async (m) => (m.memo?.set(KEY, m.size), { action: 'accept' }) },
  ]);
  const a = await spooled(ctx, 'Subject: a\r\n\r\na\r\n');
  const b = await spooled(ctx, 'Subject: bb\r\n\r\nbb\r\n');
  await Promise.all([p.run(a, ctx), p.run(b, ctx)]);
  t.same(got.sort(), [a.size, b.size].sort());
});

t.test('twenty messages in flight: each inspected once, by its own memo', async (t) => {
  const ctx = await contentContext(t);
  const limits = inspectLimits(ctx);
  const messages = await Promise.all(Array.from({ length: 20 }, async (_, i) => spooled(ctx, await compose({ text: `n${i}`, attachments: [{ filename: `f${i}.txt`, content: 'x' }] }))));
  const first = await Promise.all(messages.map((m) => inspectCached(m, limits)));
  const again = await Promise.all(messages.map((m) => inspectCached(m, limits)));
  t.ok(first.every((x, i) => x === again[i]), 'the second stage gets the same inspection, not a second pass');
  t.ok(messages.every((m) => m.memo?.get(INSPECTION) !== undefined), 'kept on each message');
});
