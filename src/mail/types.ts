// The words every station of the mail flow shares: who the client is, which way the mail goes,
// what a peer hears, where a recipient's copy goes. Types only; nothing here imports a station.

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
  /** The SMTP session the message came in (smtp-server's id): on every log line about the message. */
  session?: string;
}

/** What a peer hears: an SMTP reply code, an enhanced status code (RFC 3463, e.g. "5.7.1"), a text. */
export interface Reply {
  code: number;
  enhanced: string;
  text: string;
}

/** Where a recipient's copy goes. Decided once at acceptance (src/policy/recipient.ts). */
export type Route =
  | { kind: 'mailbox'; user: string }
  | { kind: 'internal' }
  | { kind: 'remote'; domain: string };

/** One address a recipient expanded to, with its route. */
export interface Routed {
  address: string;
  route: Route;
}

/** The start of a spooled message, held in memory (src/spool/head.ts); `whole` when that is all of it. */
export interface FileHead {
  bytes: Buffer;
  whole: boolean;
}
