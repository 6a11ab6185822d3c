// The content pipeline's contract (maddy's check → modify → deliver): each stage is one module
// exporting one function of this type and declaring its phase; src/pipeline/run.ts runs them in
// phase order on the spooled file after DATA, before the "250 queued" reply, reading the message
// as a stream from disk — never whole into memory. Stages do not talk through header text: a stage
// leaves typed facts in the message's memo for later ones (a MemoKey its module exports), returns
// the header fields it adds (the runner merges them once), and asks the runner to keep a copy in
// quarantine. Adding a stage touches one list: firmware/stages.ts.
import type { Context } from '../context.ts';
import type { FileHead } from '../mail/types.ts';
import type { ClientInfo, Direction, Reply } from '../mail/types.ts';

export interface MessageContext {
  readonly queueId: string;
  /** inbound: from the Internet to local users; outbound: from our users (AUTH/trusted) to anywhere. */
  readonly direction: Direction;
  readonly client: ClientInfo;
  /** Envelope sender ('' for the null sender). */
  readonly mailFrom: string;
  readonly rcpts: readonly string[];
  /** Path of the spooled message (CRLF lines, our Received header first). Read it as a stream. */
  readonly path: string;
  readonly size: number;
  /** The start of the file at `path` in memory (the whole file when small); absent after a rewrite. */
  readonly head?: FileHead;
  /** Header fields earlier stages returned, not in the file: what leaves is these, then the file. */
  readonly prepend?: readonly string[];
  /** Typed facts of this message left by earlier stages (and the inspection both content stages share). */
  readonly memo?: Memo;
  /** Keep a copy of the message as it is now in quarantine (the runner's quarantine); for a stage that
   * rewrites the message and names the copy in what it writes. */
  readonly holdCopy?: (reason: string, stage: string) => Promise<{ id: string; expiresAt: string }>;
}

/** A typed slot in a message's memo; each producing module exports its key. */
export interface MemoKey<T> {
  readonly name: string;
  /** Type carrier only. */
  readonly _type?: T;
}

export function memoKey<T>(name: string): MemoKey<T> {
  return { name };
}

/** Per-message facts, kept for the life of one pipeline run (no module-level cache). */
export class Memo {
  readonly #values = new Map<string, unknown>();
  get<T>(key: MemoKey<T>): T | undefined {
    return this.#values.get(key.name) as T | undefined;
  }
  set<T>(key: MemoKey<T>, value: T): void {
    this.#values.set(key.name, value);
  }
  /** The value, made once by `make` for this message (concurrent callers share it). */
  once<T>(key: MemoKey<T>, make: () => T): T {
    if (!this.#values.has(key.name)) this.#values.set(key.name, make());
    return this.#values.get(key.name) as T;
  }
}

/** What a stage found, for the log's check lines and the message trace: "spf=pass", "score=3.1". */
export type Facts = Readonly<Record<string, string | number | boolean>>;

export type Verdict = (
  /** Go on. `headers` are prepended (each a full "Name: value" without CRLF). `replacement` is the
   * path of a rewritten message (the stage wrote it) that replaces the message for later stages. */
  | { action: 'accept'; headers?: string[]; replacement?: string }
  | ({ action: 'reject' } & Reply)
  | ({ action: 'tempfail' } & Reply)
  /** Accepted (250) but held in quarantine, not delivered. */
  | { action: 'quarantine'; reason: string; headers?: string[] }
) & { facts?: Facts };

/** Why a message counts as outbound (our own users' mail): what the content stages then skip says so. */
export function outboundBecause(client: ClientInfo): string {
  if (client.user !== null) return `sent by user ${client.user} (SMTP AUTH or POP-before-SMTP)`;
  if (client.trusted) return 'from trustedNetworks';
  return 'from a POP-before-SMTP client';
}

export type Stage = (message: MessageContext, context: Context) => Promise<Verdict>;

/**
 * Where a stage runs; the runner runs the phases in this order whatever the list says:
 * check the message as received (sender authentication, encrypted content), modify it (remove
 * attachments), scan what will be delivered (virus, spam), sign it (DKIM: nothing may change the
 * signed bytes after), record it (the archive: the message exactly as it leaves).
 */
export const PHASES = ['check', 'modify', 'scan', 'sign', 'record'] as const;
export type Phase = (typeof PHASES)[number];

export interface NamedStage {
  name: string;
  phase: Phase;
  run: Stage;
}
