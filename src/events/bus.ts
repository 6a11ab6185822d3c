// One typed event stream for the whole firmware. Stations emit facts; extensions
// (LEDs, MQTT, alert engine, bans) subscribe. Adding an event = adding a line to EventMap.
import { EventEmitter } from 'node:events';
import type { Alert, ClearedAlert } from '../alerts/types.ts';

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
  'message.received': { queueId: string; client: string; from: string; rcpts: string[]; size: number; listener: string };
  /** A client sent a command before the SMTP greeting (refused with 554; smtp.greetingDelay). */
  'smtp.early_talker': { client: string; listener: string };
  'message.rejected': { client: string; from: string; code: number; text: string };
  'message.delivered': { queueId: string; rcpt: string; route: 'local' | 'internal' | 'remote' };
  'delivery.deferred': { queueId: string; rcpt: string; reply: string; nextAttempt: number };
  'message.held': { queueId: string; from: string; until: number };
  'message.cancelled': { queueId: string; by: 'admin' | 'sender'; rcpts: string[] };
  'config.changed': { keys: string[] };
  'alert.raised': Alert;
  'alert.cleared': ClearedAlert;
  'quarantine.held': { id: string; queueId: string; stage: string; reason: string };
  'quarantine.released': { id: string; queueId: string };
  'quarantine.deleted': { id: string; queueId: string; why: 'admin' | 'expired' | 'full' };
  'attachment.blocked': { queueId: string; client: string; from: string; filename: string; reason: string; action: 'removed' | 'rejected' | 'quarantined' };
  'spam.detected': { queueId: string; client: string; from: string; score: number; action: 'tag' | 'quarantine' | 'reject' };
}

export type EventName = keyof EventMap;

export class EventBus {
  readonly #emitter = new EventEmitter();

  constructor() {
    // Many extensions listen to the same few events; the default limit of 10 is only a leak hint.
    this.#emitter.setMaxListeners(100);
  }

  emit<K extends EventName>(name: K, payload: EventMap[K]): void {
    this.#emitter.emit(name, payload);
  }

  on<K extends EventName>(name: K, listener: (payload: EventMap[K]) => void): () => void {
    this.#emitter.on(name, listener);
    return () => this.#emitter.off(name, listener);
  }

  once<K extends EventName>(name: K): Promise<EventMap[K]> {
    return new Promise((resolve) => this.#emitter.once(name, resolve));
  }
}
