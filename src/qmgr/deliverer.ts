// What the queue manager asks of a delivery agent (local mailbox, internal server, remote MX).
import type { QueueEntry } from '../spool/entry.ts';

export interface DeliveryResult {
  status: 'delivered' | 'deferred' | 'failed';
  /** The reply to record, e.g. "250 2.0.0 ok" or "452 4.2.2 mailbox full". */
  reply: string;
  /** Who answered, for the delivery line: "mx1.example.com[192.0.2.1]:25", "local". */
  relay?: string;
}

export interface Attempt {
  /**
   * This process committed the entry and never tried it before: no earlier attempt can have left
   * a copy anywhere, so an agent may skip its search for one (the mailbox's idempotency check).
   */
  first: boolean;
}

export interface Deliverer {
  /** Deliver the recipients at `indexes` of `entry` (all share one route); one result per index, in order. */
  deliver(entry: QueueEntry, indexes: number[], attempt?: Attempt): Promise<DeliveryResult[]>;
}
