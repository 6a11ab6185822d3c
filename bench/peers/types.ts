// What the bench needs from every SMTP server it measures: Yubin, Haraka, Postfix.

export interface SmtpPeer {
  /** Name in the table, e.g. "Postfix (queue)". */
  name: string;
  /** The SMTP port the load goes to. */
  port: number;
  /** The root of the peer's process tree (RSS is summed over it). */
  pid: number;
  /** Messages durable on disk so far (accepted into the queue, or delivered when `delivers`). */
  count(): Promise<number>;
  stop(): Promise<void>;
}
