// A queue entry: the envelope of one accepted message and the state of each recipient.
// Stored as JSON beside the message file; its durable presence is what "queued" means.
import type { ClientInfo, Direction, Route } from '../mail/types.ts';
import type { RcptOutcome } from '../mail/outcome.ts';

export type RcptStatus = 'pending' | 'delivered' | 'failed';

export interface RcptState {
  /** The address as given at RCPT TO (normalised). */
  original: string;
  /** The address after alias expansion (what the route delivers to). */
  address: string;
  route: Route;
  status: RcptStatus;
  attempts: number;
  /** Epoch ms of the next attempt. */
  nextAttempt: number;
  /** Last reply or error text, for the queue listing and bounces. */
  lastReply?: string;
}

export interface QueueEntry {
  id: string;
  /** Epoch ms when the message was accepted. */
  received: number;
  mailFrom: string;
  direction: Direction;
  client: ClientInfo;
  listener: string;
  /** Size of the message file in bytes. */
  size: number;
  /** Header lines (no CRLF) to put in front of the file when delivering: content-check results. */
  prepend: string[];
  rcpts: RcptState[];
  /** Epoch ms before which nothing is sent (mis-send delay); absent: no hold. */
  holdUntil?: number;
  /** Set when the admin holds the message: not delivered until released. */
  held?: boolean;
  /** The sender has had the one "delayed" notice (queue.delayWarningHours). */
  delayWarned?: boolean;
}

/** The parts of a recipient's delivery line (src/mail/outcome.ts) that the queue entry knows. */
export function outcomeOf(entry: QueueEntry, r: RcptState, now = Date.now()): Omit<RcptOutcome, 'status' | 'reply'> {
  return {
    queueId: entry.id,
    ...(entry.client.session ? { session: entry.client.session } : {}),
    client: entry.client.address,
    from: entry.mailFrom,
    to: r.address,
    ...(r.original !== r.address ? { origTo: r.original } : {}),
    delay: Math.max(0, Math.round((now - entry.received) / 10) / 100),
    attempts: r.attempts,
  };
}
