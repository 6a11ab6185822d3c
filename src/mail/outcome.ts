// What became of one recipient of one message: the fact behind each delivery line of the log
// (docs/LOGGING.md), the message trace and the recipient counters of `show status`. Stations emit
// it on the bus as `rcpt.outcome` where the outcome is decided; src/maillog/ writes it down.

/**
 * sent, bounced (failed for good: the sender gets a DSN), deferred (will be tried again), held (the
 * mis-send delay or the admin keeps it), cancelled (by the sender or the admin, during the delay),
 * deleted (by the admin, nobody told), quarantined (accepted, kept from delivery), rejected (refused
 * at RCPT or DATA: the client was told, nothing queued).
 */
export type OutcomeStatus = 'sent' | 'bounced' | 'deferred' | 'held' | 'cancelled' | 'deleted' | 'quarantined' | 'rejected';

export const OUTCOME_STATUSES: readonly OutcomeStatus[] = ['sent', 'bounced', 'deferred', 'held', 'cancelled', 'deleted', 'quarantined', 'rejected'];

export interface RcptOutcome {
  /** null when refused before the message had one (at RCPT): NOQUEUE in the log, as Postfix writes. */
  queueId: string | null;
  /** The SMTP session it came in (smtp-server's session id), when known. */
  session?: string;
  /** The client's address. */
  client?: string;
  from: string;
  to: string;
  /** The recipient as given at RCPT TO, when an alias made `to` of it. */
  origTo?: string;
  status: OutcomeStatus;
  /** The reply given to the client (rejected, quarantined) or the server's reply (sent, bounced, deferred), or what happened. */
  reply: string;
  /** Who took it: "mx.example.com[192.0.2.1]:25", "local", "quarantine". */
  relay?: string;
  /** Seconds since the message was received. */
  delay?: number;
  /** Delivery attempts so far. */
  attempts?: number;
  /** Where it was decided: rcpt, data, a content stage's name, hold, admin, sender. */
  stage?: string;
  /** Quarantine id (quarantined). */
  quarantine?: string;
  /** Epoch ms: the next attempt (deferred), the end of the hold (held). */
  until?: number;
}

/** The enhanced status code of a reply ("250 2.0.0 Ok" → "2.0.0"); from the reply code alone
 * when the server gave none ("250 Ok" → "2.0.0", as Postfix writes it); undefined for no reply code. */
export function dsnOf(reply: string): string | undefined {
  const m = /^([245])\d\d(?:[ -]([245]\.\d{1,3}\.\d{1,3})\b)?/.exec(reply);
  if (!m) return undefined;
  return m[2] ?? `${m[1]}.0.0`;
}
