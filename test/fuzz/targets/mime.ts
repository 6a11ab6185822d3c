// Target "mime": the MIME inspection (src/attachments/inspect.ts) and the two stages that read it
// (encrypted content, attachment filter) on structured hostile mail (gen/mail.ts). Each resolves
// with its result or rejects with an Error; nothing is left unhandled (the harness watches), and
// no scratch file outlives the inspection.
import fc from 'fast-check';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectMessage, type Inspection, type InspectLimits } from '../../../src/inspect/inspect.ts';
import { attachmentStage } from '../../../src/attachments/stage.ts';
import { encryptedStage } from '../../../src/encrypted/stage.ts';
import { HEAD_BYTES } from '../../../src/spool/head.ts';
import type { FileHead } from '../../../src/mail/types.ts';
import type { MessageContext, Verdict } from '../../../src/pipeline/stage.ts';
import { mail, renderMail, type MailSpec } from '../gen/mail.ts';
import { openContext } from '../context.ts';
import type { Target } from '../harness.ts';

interface MimeCase {
  mail: MailSpec;
  limits: Omit<InspectLimits, 'tmpRoot'>;
  /** Hand the stages the in-memory head, as DATA does (absent after a rewrite). */
  withHead: boolean;
  direction: 'inbound' | 'outbound';
}

/** The stages' own limits, small so that cases reach them (attachments.* settings). */
const SETTINGS = {
  'attachments.maxScanBytes': 256 * 1024,
  'attachments.archiveDepth': 2,
  'attachments.maxArchiveEntries': 200,
};

function isInspection(v: Inspection): string | null {
  if (!Array.isArray(v.parts)) return 'no parts list';
  for (const p of v.parts) if (typeof p.partId !== 'string' || !(p.size >= 0)) return `bad part ${JSON.stringify(p).slice(0, 200)}`;
  return null;
}

function isVerdict(v: Verdict): string | null {
  if (!['accept', 'reject', 'tempfail', 'quarantine'].includes(v.action)) return `unknown action ${v.action}`;
  if ((v.action === 'reject' || v.action === 'tempfail') && (!/^[45]\d\d$/.test(String(v.code)) || /[\r\n]/.test(v.text))) return `bad reply ${v.code} ${JSON.stringify(v.text)}`;
  for (const h of (v.action === 'accept' || v.action === 'quarantine' ? v.headers : undefined) ?? []) {
    // A header the stage adds must be one field: folded lines start with white space.
    if (/\r\n(?![ \t])|[\0]|\r(?!\n)|(?<!\r)\n/.test(h)) return `added header is not one field: ${JSON.stringify(h.slice(0, 300))}`;
  }
  return null;
}

/** Resolves, or rejects with an Error; anything else is a failure, named after `what`. */
async function settled<T>(what: string, work: Promise<T>, valid: (v: T) => string | null): Promise<void> {
  let value: T;
  try {
    value = await work;
  } catch (err) {
    if (err instanceof Error) return;
    throw new Error(`${what} rejected with a non-Error: ${String(err)}`);
  }
  const problem = valid(value);
  if (problem) throw new Error(`${what}: ${problem}`);
}

export const mimeTarget: Target<MimeCase> = {
  name: 'mime',
  property: 'inspection and the attachment/encrypted stages resolve or reject with an Error, leave no unhandled rejection and no scratch file, within 30 s',
  arbitrary: fc.record({
    mail,
    limits: fc.record({
      maxBytes: fc.integer({ min: 1024, max: 1024 * 1024 }),
      depth: fc.integer({ min: 0, max: 3 }),
      maxEntries: fc.integer({ min: 1, max: 2000 }),
      // The mime.* limits, small and large, so that cases reach them from both sides.
      mime: fc.record({
        maxHeaderBytes: fc.integer({ min: 1024, max: 300 * 1024 }),
        maxPartHeaderBytes: fc.integer({ min: 1024, max: 100 * 1024 }),
        maxParts: fc.integer({ min: 1, max: 1200 }),
        maxDepth: fc.integer({ min: 1, max: 60 }),
      }),
    }),
    withHead: fc.boolean(),
    direction: fc.constantFrom('inbound', 'outbound'),
  }),
  caseTimeoutMs: 30_000,
  async open() {
    const { ctx, close } = await openContext('mime', SETTINGS);
    const messages = join(ctx.dataDir, 'messages');
    const scratch = join(ctx.dataDir, 'tmp');
    await mkdir(messages, { recursive: true });
    let n = 0;
    return {
      render: (c) => renderMail(c.mail),
      close,
      async check(c) {
        const bytes = await renderMail(c.mail);
        // A new path each case: the stages cache inspections by path and size.
        const path = join(messages, `m${n++}.eml`);
        await writeFile(path, bytes);
        const head: FileHead = { bytes: bytes.subarray(0, HEAD_BYTES), whole: bytes.length <= HEAD_BYTES };
        try {
          await settled('inspectMessage', inspectMessage(path, { ...c.limits, tmpRoot: scratch }, c.withHead ? head : undefined), isInspection);
          const message: MessageContext = {
            queueId: `fuzz${n}`,
            direction: c.direction,
            client: { address: '127.0.0.9', hostname: '', helo: 'fuzz.example', tls: false, user: null, trusted: false },
            mailFrom: 'sender@outside.example',
            rcpts: ['alice@yubin.test'],
            path,
            size: bytes.length,
            ...(c.withHead ? { head } : {}),
          };
          await settled('encrypted stage', encryptedStage(message, ctx), isVerdict);
          await settled('attachment stage', attachmentStage(message, ctx), isVerdict);
          const left = await readdir(scratch).catch(() => []);
          if (left.length > 0) throw new Error(`scratch files left behind: ${left.join(', ')}`);
        } finally {
          await rm(path, { force: true });
          await rm(`${path}.attachments`, { force: true });
          await rm(join(ctx.dataDir, 'quarantine'), { recursive: true, force: true });
          await rm(scratch, { recursive: true, force: true });
        }
      },
    };
  },
};
