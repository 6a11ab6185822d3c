// The last-resort net under every client session (SMTP, POP3). Each session runs in its own async
// context; an error that escapes our code there (an unhandled rejection or an uncaught exception,
// the class of bug that once let one message end the process) ends only that session: the client
// hears 451 4.3.0 (SMTP) or -ERR [SYS/TEMP] (POP3), the error is logged with the session id and
// raised as an alert, and every other session goes on. It is a net, not the fix: each bug it
// catches still gets its own fix and test (test/abuse/session-guard.test.ts proves the net).
import { AsyncLocalStorage } from 'node:async_hooks';

export interface SessionScope {
  readonly service: 'smtp' | 'pop3';
  /** The session id the logs use. */
  readonly id: string;
  readonly client: string;
  /** Aborted when the guard ends the session: work in flight must not acknowledge anything after. */
  readonly signal: AbortSignal;
}

interface Scope extends SessionScope {
  readonly controller: AbortController;
  readonly end: (err: Error) => void;
  ended: boolean;
}

export interface SessionFailure {
  readonly scope: SessionScope;
  readonly error: Error;
}

export class SessionGuard {
  readonly #als = new AsyncLocalStorage<Scope>();

  /** A scope for one session; `end` tells the peer and closes the connection (called once). */
  open(service: SessionScope['service'], id: string, client: string, end: (err: Error) => void): SessionScope {
    const controller = new AbortController();
    const scope: Scope = { service, id, client, controller, signal: controller.signal, end, ended: false };
    return scope;
  }

  /** Run `fn` (and everything it starts) inside the session's scope. */
  run<T>(scope: SessionScope, fn: () => T): T {
    return this.#als.run(scope as Scope, fn);
  }

  /**
   * An error escaped our code. Inside a session scope: end that session and return its failure
   * (the caller logs and alerts); outside any session: null, the caller decides.
   */
  contain(err: unknown): SessionFailure | null {
    const scope = this.#als.getStore();
    if (!scope) return null;
    const error = err instanceof Error ? err : new Error(String(err));
    if (!scope.ended) {
      scope.ended = true;
      scope.controller.abort(error);
      try {
        scope.end(error);
      } catch {
        // The connection is already gone: nothing left to tell.
      }
    }
    return { scope, error };
  }
}

/** One guard per process: the async context it reads is the process's. */
export const sessionGuard = new SessionGuard();

/** The reply an SMTP client hears when the guard ends its session. */
export const SMTP_GUARD_REPLY = { code: 451, enhanced: '4.3.0', text: 'Local error in processing; this session is closed, try again later' } as const;
