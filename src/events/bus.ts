// One typed event stream for the whole firmware. Stations emit facts; extensions
// (LEDs, MQTT, alert engine, bans) subscribe. Adding an event = adding a line to EventMap.
// Each listener runs in its own try/catch (zigbee2mqtt's event bus does the same): a listener that
// throws, or whose promise rejects, is logged with its owner and never throws into the emitter,
// which is often a mail station in the middle of an SMTP command.
import { EventEmitter } from 'node:events';
import type { Alert, ClearedAlert } from './alerts.ts';
import type { ClientInfo, Direction } from '../mail/types.ts';
import type { RcptOutcome } from '../mail/outcome.ts';
import { stderrLogger, type Logger } from '../log/logger.ts';

export interface EventMap {
  'relay.denied': { client: string; helo: string; from: string; rcpt: string; reason: string };
  'auth.failed': { service: 'smtp' | 'pop3' | 'console'; client: string; user: string };
  'virus.found': { client: string; from: string; signature: string; queueId?: string };
  'op25b.blocked': { source: string; count: number };
  'queue.backlog': { depth: number };
  'delivery.failed': { queueId: string; rcpt: string; code: string; text: string; permanent: boolean };
  'disk.low': { path: string; freeBytes: number };
  'service.down': { service: string; reason: string };
  'service.up': { service: string };
  /** The last-resort guard ended a client session on an error that escaped (src/guard/). */
  'session.failed': { service: 'smtp' | 'pop3'; session: string; client: string; error: string };
  'message.received': { queueId: string; client: string; from: string; rcpts: string[]; size: number; listener: string; session?: string };
  /** A message is in the spool, before the content checks: where it came from (the trace's first line). */
  'message.arrived': { queueId: string; session?: string; client: ClientInfo; listener: string; direction: Direction; tls: { protocol: string; cipher: string } | null; from: string; rcpts: string[]; size: number };
  /** What one content stage found and decided (src/pipeline/run.ts). */
  'message.checked': { queueId: string; stage: string; action: string; facts?: Readonly<Record<string, string | number | boolean>> };
  /** One recipient's outcome: a delivery line of the log (src/mail/outcome.ts, src/maillog/). */
  'rcpt.outcome': RcptOutcome;
  /** A client sent a command before the SMTP greeting (refused with 554; smtp.greetingDelay). */
  'smtp.early_talker': { client: string; listener: string };
  'message.rejected': { client: string; from: string; code: number; text: string };
  'message.delivered': { queueId: string; rcpt: string; route: 'local' | 'internal' | 'remote' };
  'delivery.deferred': { queueId: string; rcpt: string; reply: string; nextAttempt: number };
  'message.held': { queueId: string; from: string; until: number };
  'message.cancelled': { queueId: string; by: 'admin' | 'sender'; rcpts: string[] };
  /** Settings whose committed value changed, whichever process committed them (src/config/store.ts). */
  'config.changed': { keys: string[] };
  /** The config file changed on disk but could not be used; the running firmware keeps its settings. */
  'config.rejected': { file: string; error: string };
  /** Firmware lifecycle trouble (firmware/lifecycle/): an upgrade refused or rolled back, a backup overdue or failed. */
  'lifecycle.problem': { source: 'upgrade' | 'backup'; text: string };
  'alert.raised': Alert;
  'alert.cleared': ClearedAlert;
  'quarantine.held': { id: string; queueId: string; stage: string; reason: string };
  'quarantine.released': { id: string; queueId: string };
  'quarantine.deleted': { id: string; queueId: string; why: 'admin' | 'expired' | 'full' };
  'attachment.blocked': { queueId: string; client: string; from: string; filename: string; reason: string; action: 'removed' | 'rejected' | 'quarantined' };
  /** The DNS watch checked the published records (src/dnsrecords/watch.ts): the state per domain. */
  'dns.checked': { checkedAt: string; domains: Array<{ domain: string; state: 'ok' | 'problem' | 'unknown'; problems: string[]; ready: boolean }> };
  /** Records of a domain (or the board's own, under its host name) broke or got block-listed. */
  'dns.broken': { domain: string; problems: string[] };
  /** Every record of a domain is good again. */
  'dns.fixed': { domain: string };
  /** Sender authentication evaluated DMARC for a domain that asks for aggregate reports (src/dmarcreport/). */
  'dmarc.evaluated': DmarcEvaluated;
  /** An aggregate report about one of our domains arrived and was read (src/dmarcreport/inbound.ts). */
  'dmarc.report': { domain: string; reporter: string; messages: number; failed: number };
  /** ACME (src/acme/): a certificate was issued and is being served by every TLS listener. */
  'certificate.issued': { names: string[]; notAfter: string; serial: string; renewal: boolean };
  /** An ACME order failed; it is tried again at retryAt (ms since the epoch). */
  'certificate.failed': { names: string[]; reason: string; failures: number; retryAt: number };
  /** The served certificate expires within acme.alertDays and has not been renewed. */
  'certificate.expiring': { names: string[]; notAfter: string; daysLeft: number };
  'certificate.revoked': { serial: string; names: string[] };
  'spam.detected': { queueId: string; client: string; from: string; score: number; action: 'tag' | 'quarantine' | 'reject' };
}

/** One message's DMARC evaluation, as an aggregate report row needs it (RFC 9990 §2.1). */
export interface DmarcEvaluated {
  /** ms since the epoch. */
  at: number;
  sourceIp: string;
  headerFrom: string;
  envelopeFrom: string;
  envelopeTo: string;
  policyDomain: string;
  published: { p: string; sp?: string; np?: string; adkim: 'r' | 's'; aspf: 'r' | 's'; fo?: string; testing: 'y' | 'n' };
  rua: string[];
  /** What was done: none, pass (passed an enforcing policy), quarantine, reject. */
  disposition: 'none' | 'pass' | 'quarantine' | 'reject';
  dkimAligned: boolean;
  spfAligned: boolean;
  dkim: Array<{ domain: string; selector: string; result: string }>;
  spf: { domain: string; result: string } | null;
}

export type EventName = keyof EventMap;

/** A listener that threw: who registered it (EventBus.for), on which event, and the error. */
export interface ListenerFailure {
  readonly owner: string;
  readonly event: EventName;
  readonly error: Error;
}

export interface EventBusOptions {
  /** Where a failing listener is logged; stderr by default. */
  log?: Logger;
}

/** What every view of one bus shares: the emitter, the log, and who wants to hear of failures. */
interface Shared {
  readonly emitter: EventEmitter;
  log: Logger;
  readonly failureWatchers: Set<(failure: ListenerFailure) => void>;
}

export class EventBus {
  #shared: Shared;
  #owner = 'firmware';

  constructor(options: EventBusOptions = {}) {
    const emitter = new EventEmitter();
    // Many extensions listen to the same few events; the default limit of 10 is only a leak hint.
    emitter.setMaxListeners(100);
    this.#shared = { emitter, log: options.log ?? stderrLogger(), failureWatchers: new Set() };
  }

  /** The same bus, with the listeners registered through it owned by `owner` (an extension's name):
   * a failure of one of them names that owner, and the supervisor can restart it. */
  for(owner: string): EventBus {
    const view = new EventBus();
    view.#shared = this.#shared;
    view.#owner = owner;
    return view;
  }

  /** Where failing listeners are logged from now on (the firmware's logger, once it has one). */
  set log(log: Logger) {
    this.#shared.log = log;
  }

  emit<K extends EventName>(name: K, payload: EventMap[K]): void {
    this.#shared.emitter.emit(name, payload);
  }

  on<K extends EventName>(name: K, listener: (payload: EventMap[K]) => unknown): () => void {
    const owner = this.#owner;
    const guarded = (payload: EventMap[K]) => {
      try {
        const result = listener(payload);
        if (result instanceof Promise) result.catch((err: unknown) => this.#failed(owner, name, err));
      } catch (err) {
        this.#failed(owner, name, err);
      }
    };
    this.#shared.emitter.on(name, guarded);
    return () => this.#shared.emitter.off(name, guarded);
  }

  once<K extends EventName>(name: K): Promise<EventMap[K]> {
    return new Promise((resolve) => this.#shared.emitter.once(name, resolve));
  }

  /** Hear of every listener that throws (the supervisor counts it as a crash of its owner). */
  onListenerFailure(watch: (failure: ListenerFailure) => void): () => void {
    this.#shared.failureWatchers.add(watch);
    return () => this.#shared.failureWatchers.delete(watch);
  }

  #failed(owner: string, event: EventName, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    this.#shared.log.log('error', 'event listener failed', { owner, event, error: error.message });
    for (const watch of this.#shared.failureWatchers) {
      try {
        watch({ owner, event, error });
      } catch {
        // A watcher that throws must not bring back the very problem this guards against.
      }
    }
  }
}
