// Shared by the content-security tests: a Context on a temp data folder, a message "spooled" into
// it as the SMTP receiver would leave it, composed by nodemailer (an independent MIME writer).
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { ConfigStore } from '../../src/config/store.ts';
import { type Context } from '../../src/context.ts';
import { stderrLogger } from '../../src/log/logger.ts';
import { forStages } from '../../src/pipeline/run.ts';
import { quarantineHook } from '../../src/quarantine/store.ts';
import type { MessageContext } from '../../src/pipeline/stage.ts';
import { createContext } from '../../firmware/context.ts';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function contentContext(t: Teardown): Promise<Context> {
  const dir = await mkdtemp(join(tmpdir(), 'yubin-content-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await ConfigStore.open(dir);
  t.teardown(() => store.close());
  return createContext(dir, store, stderrLogger('warn'));
}

/** Writes `raw` where the spool would and returns the stage input for it. */
export async function spooled(ctx: Context, raw: Buffer | string, over: Partial<MessageContext> = {}): Promise<MessageContext> {
  const queueId = randomBytes(6).toString('hex');
  await mkdir(join(ctx.dataDir, 'spool'), { recursive: true });
  const path = join(ctx.dataDir, 'spool', `${queueId}.eml`);
  const data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
  await writeFile(path, data);
  // As the pipeline runner hands it to a stage: a memo, the quarantine for copies.
  return forStages({
    queueId,
    direction: 'inbound',
    client: { address: '127.0.0.9', hostname: '', helo: 'outside.example', tls: false, user: null, trusted: false },
    mailFrom: 'sender@outside.example',
    rcpts: ['user@localhost'],
    path,
    size: data.length,
    ...over,
  }, { quarantine: quarantineHook(ctx) });
}

export function compose(mail: Mail.Options): Promise<Buffer> {
  return new MailComposer({ from: 'Sender <sender@outside.example>', to: 'user@localhost', subject: 'Test', date: new Date('2026-01-02T03:04:05Z'), messageId: '<fixture@outside.example>', ...mail }).compile().build();
}

export async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface ParsedPart {
  type: string;
  filename: string | null;
  /** Decoded text of text/* parts, else null. */
  text: string | null;
  size: number;
}

/** The leaf parts of a message as Python's email package (an independent parser) sees them. */
export async function pythonParts(path: string): Promise<ParsedPart[]> {
  const { execFile } = await import('node:child_process');
  const script = [
    'import email, email.policy, json, sys',
    'm = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)',
    'out = []',
    'for p in m.walk():',
    '    if p.is_multipart(): continue',
    '    data = p.get_payload(decode=True) or b""',
    '    out.append({"type": p.get_content_type(), "filename": p.get_filename(), "text": data.decode("utf-8", "replace") if p.get_content_maintype() == "text" else None, "size": len(data)})',
    'print(json.dumps(out))',
  ].join('\n');
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, path], { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as ParsedPart[])));
  });
}
