// Stopping the SMTP listeners as a mail server should (Postfix's master and Dovecot's shutdown
// both tell their clients at once): no new connections; a session waiting for its client's next
// command is told 421 4.3.2 at once; a session in the middle of DATA may finish within
// smtp.shutdownGrace and is told 421 after its reply; when the grace is over, a message still
// arriving is cut off with 421 (never acknowledged, so the client sends it again later). A message
// that has arrived whole is never cut off: its reply (250 after the fsync, or a refusal) comes
// first, so nothing acknowledged is lost and nothing is acknowledged twice.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SMTPServer } from 'smtp-server';

/** RFC 3463 §3.4: X.3.2, system not accepting network messages. */
export const SHUTDOWN_REPLY = '4.3.2 Service shutting down, try again later';

/** The members of smtp-server's connection the drain reads (internal, not in its types; 3.21). */
interface Connection {
  /** The message stream while DATA runs; its writable side ends when the final dot has arrived. */
  _dataStream: { writableEnded: boolean } | false | null | undefined;
  /** A hook of ours (AUTH, MAIL, RCPT) has not answered yet. */
  _handlerPending?: boolean;
  _closing: boolean;
  send(code: number, text: string): void;
}

const POLL_MS = 20;
/** After the grace, how long a message that has fully arrived may still take to be checked and spooled. */
const FINISH_MS = 10_000;
/** How long to wait for clients to close their side after the 421 before giving up on them. */
const HANGUP_MS = 1_000;

function connectionsOf(server: SMTPServer): Set<Connection> {
  return (server as unknown as { connections: Set<Connection> }).connections;
}

export async function drainListeners(servers: readonly SMTPServer[], graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  // Stop accepting. smtp-server's own 421 at closeTimeout (no enhanced code) comes only after ours.
  const closed = servers.map((server) => {
    server.options.closeTimeout = graceMs + FINISH_MS + HANGUP_MS;
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  for (;;) {
    const now = Date.now();
    let busy = 0;
    for (const server of servers) {
      for (const c of connectionsOf(server)) {
        if (c._closing) continue;
        const data = c._dataStream;
        const receiving = Boolean(data) && !(data as { writableEnded: boolean }).writableEnded;
        const deciding = (Boolean(data) && !receiving) || c._handlerPending === true;
        const waitFor = receiving ? now < deadline : deciding ? now < deadline + FINISH_MS : false;
        if (waitFor) {
          busy += 1;
          continue;
        }
        c.send(421, SHUTDOWN_REPLY); // smtp-server closes the connection after a 421
      }
    }
    if (busy === 0) break;
    await sleep(POLL_MS);
  }
  await Promise.race([Promise.all(closed), sleep(HANGUP_MS, undefined, { ref: false })]);
}
