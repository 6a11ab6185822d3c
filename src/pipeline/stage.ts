// The content pipeline (maddy's check → modify → deliver, Haraka's hooks): each stage is one module
// exporting one function of this type. Stages run on the spooled file after DATA, before the
// "250 queued" reply, reading the message as a stream from disk — never whole into memory.
// Adding a stage touches one list: src/pipeline/stages.ts.
import type { Context } from '../context.ts';
import type { FileHead } from '../spool/head.ts';

export type Direction = 'inbound' | 'outbound';

export interface ClientInfo {
  address: string;
  /** Reverse name if looked up, else '' */
  hostname: string;
  helo: string;
  tls: boolean;
  /** SMTP AUTH user, or POP-before-SMTP user, if any. */
  user: string | null;
  /** Client is in trustedNetworks. */
  trusted: boolean;
}

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
  /** Header lines earlier stages returned, not yet in the file (Authentication-Results for the spam score). */
  readonly prepend?: readonly string[];
}

export interface Reply {
  code: number;
  /** Enhanced status code, RFC 3463, e.g. "5.7.1". */
  enhanced: string;
  text: string;
}

export type Verdict =
  /** Go on. `headers` are prepended (each a full "Name: value" without CRLF). `replacement` is the
   * path of a rewritten message (the stage wrote it) that replaces the message for later stages. */
  | { action: 'accept'; headers?: string[]; replacement?: string }
  | ({ action: 'reject' } & Reply)
  | ({ action: 'tempfail' } & Reply)
  /** Accepted (250) but held in quarantine, not delivered. */
  | { action: 'quarantine'; reason: string; headers?: string[] };

export type Stage = (message: MessageContext, context: Context) => Promise<Verdict>;

export interface NamedStage {
  name: string;
  run: Stage;
}
