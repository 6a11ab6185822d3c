// The maildrop of one TRANSACTION (RFC 1939 §5): a snapshot of the Maildir taken at login, numbered
// from 1, with deletion marks that touch no file until UPDATE (§6). A dropped connection therefore
// deletes nothing. Mail delivered meanwhile waits for the next session, as the RFC expects.
import { createHash } from 'node:crypto';
import { rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { listMessages, type MaildirEntry } from '../maildir/maildir.ts';
import { fsyncDir } from '../files/durable.ts';
import { MessageFile } from './message-file.ts';

export interface DropMessage {
  readonly entry: MaildirEntry;
  /** UIDL: stable across sessions because it is derived from the Maildir base name. */
  readonly uid: string;
  deleted: boolean;
  retrieved: boolean;
}

const UID_RE = /^[\x21-\x7e]{1,70}$/;

/** RFC 1939 §7 UIDL: 1-70 characters in 0x21-0x7E. Names that do not fit are hashed (stable too). */
export function uidOf(base: string): string {
  return UID_RE.test(base) ? base : createHash('sha256').update(base, 'utf8').digest('hex');
}

export interface UpdateResult {
  removed: number;
  /** Messages marked deleted whose files could not be removed. */
  failed: number;
}

export class Maildrop {
  readonly root: string;
  readonly #messages: DropMessage[];

  private constructor(root: string, messages: DropMessage[]) {
    this.root = root;
    this.#messages = messages;
  }

  static async open(root: string): Promise<Maildrop> {
    const entries = await listMessages(root);
    return new Maildrop(root, entries.map((entry) => ({ entry, uid: uidOf(entry.base), deleted: false, retrieved: false })));
  }

  /** Message number `n` (1-based) if it exists and is not marked deleted. */
  get(n: number): DropMessage | null {
    const m = this.#messages[n - 1];
    return m && !m.deleted ? m : null;
  }

  /** [number, message] for every message not marked deleted. */
  *live(): Generator<[number, DropMessage]> {
    for (let i = 0; i < this.#messages.length; i++) {
      const m = this.#messages[i]!;
      if (!m.deleted) yield [i + 1, m];
    }
  }

  /** STAT: count and octets of messages not marked deleted. */
  stat(): { count: number; octets: number } {
    let count = 0;
    let octets = 0;
    for (const [, m] of this.live()) {
      count += 1;
      octets += m.entry.size;
    }
    return { count, octets };
  }

  /** Whether `n` names a message that has been marked deleted (for a precise error reply). */
  isDeleted(n: number): boolean {
    return this.#messages[n - 1]?.deleted === true;
  }

  /** DELE: mark message `n`; false when there is no such live message. */
  markDeleted(n: number): boolean {
    const m = this.get(n);
    if (!m) return false;
    m.deleted = true;
    return true;
  }

  /** RSET: unmark every deletion. */
  reset(): void {
    for (const m of this.#messages) m.deleted = false;
  }

  /** The message's file, to be read in chunks; rejects when the file is gone. */
  openFile(m: DropMessage): Promise<MessageFile> {
    return MessageFile.open(join(this.root, m.entry.dir, m.entry.file), m.entry.size);
  }

  /**
   * UPDATE (§6): remove the messages marked deleted, and move retrieved ones from new/ to cur/
   * with the Seen flag (Maildir spec). The folders are fsynced so a power cut does not bring
   * deleted mail back.
   */
  async update(): Promise<UpdateResult> {
    let removed = 0;
    let failed = 0;
    const touched = new Set<string>();
    for (const m of this.#messages) {
      const path = join(this.root, m.entry.dir, m.entry.file);
      try {
        if (m.deleted) {
          await unlink(path);
          removed += 1;
          touched.add(m.entry.dir);
        } else if (m.retrieved && m.entry.dir === 'new') {
          await rename(path, join(this.root, 'cur', `${m.entry.file}:2,S`));
          touched.add('new').add('cur');
        }
      } catch (err) {
        // Already gone (removed by hand) is what deletion wanted; a failed move to cur/ is harmless.
        if (m.deleted && (err as NodeJS.ErrnoException).code !== 'ENOENT') failed += 1;
        else if (m.deleted) removed += 1;
      }
    }
    for (const dir of touched) await fsyncDir(join(this.root, dir)).catch(() => undefined);
    return { removed, failed };
  }
}
