// RFC 1939 §4: the server acquires an exclusive-access lock on the maildrop when a session enters
// TRANSACTION, so two sessions never see (and delete from) the same mailbox. One Yubin process
// serves every POP3 connection, so an in-process set is the whole lock.
export class MaildropLocks {
  readonly #held = new Set<string>();

  /** Take the lock of `user`; returns its release function, or null when another session holds it. */
  acquire(user: string): (() => void) | null {
    if (this.#held.has(user)) return null;
    this.#held.add(user);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held.delete(user);
    };
  }

  isHeld(user: string): boolean {
    return this.#held.has(user);
  }
}
