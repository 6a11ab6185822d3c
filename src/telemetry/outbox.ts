// A bounded outbox in front of the MQTT client. MQTT.js queues every publish made while it is
// offline, without bound; we hand it messages only while connected and with few unacknowledged
// in flight. Alerts wait here (the newest `capacity`, oldest dropped); metrics are dropped
// (the next interval carries fresher numbers). Nothing here ever awaits the broker.

export interface PublishOptions {
  qos: 0 | 1;
  retain: boolean;
}

export interface Sender {
  connected(): boolean;
  send(topic: string, payload: string, options: PublishOptions, done: (err?: Error) => void): void;
}

export interface OutboxStats {
  buffered: number;
  dropped: number;
  inflight: number;
  sent: number;
}

interface Pending {
  topic: string;
  payload: string;
  options: PublishOptions;
}

export class Outbox {
  readonly #sender: Sender;
  readonly #capacity: () => number;
  readonly #maxInflight: number;
  readonly #onError: (err: Error) => void;
  #queue: Pending[] = [];
  #dropped = 0;
  #inflight = 0;
  #sent = 0;

  constructor(sender: Sender, capacity: () => number, maxInflight: number, onError: (err: Error) => void) {
    this.#sender = sender;
    this.#capacity = capacity;
    this.#maxInflight = maxInflight;
    this.#onError = onError;
  }

  #open(): boolean {
    return this.#sender.connected() && this.#inflight < this.#maxInflight;
  }

  #send(p: Pending): void {
    this.#inflight += 1;
    this.#sender.send(p.topic, p.payload, p.options, (err) => {
      this.#inflight -= 1;
      if (err) this.#onError(err);
      else this.#sent += 1;
      if (this.#queue.length > 0) this.flush();
    });
  }

  /** An event that must not be lost to a short outage (an alert): buffered while away. */
  event(topic: string, payload: string, options: PublishOptions = { qos: 1, retain: false }): void {
    const p = { topic, payload, options };
    if (this.#queue.length === 0 && this.#open()) return this.#send(p);
    this.#queue.push(p);
    const excess = this.#queue.length - this.#capacity();
    if (excess > 0) {
      this.#queue.splice(0, excess);
      this.#dropped += excess;
    }
    this.flush(); // connected but behind: keep order, send as far as in-flight room allows
  }

  /** A value soon replaced by a fresher one (metrics, states re-sent on connect): dropped while away. */
  volatile(topic: string, payload: string, options: PublishOptions = { qos: 0, retain: true }): boolean {
    if (!this.#open()) {
      this.#dropped += 1;
      return false;
    }
    this.#send({ topic, payload, options });
    return true;
  }

  /** Send what waited, oldest first, as far as the in-flight limit allows. */
  flush(): void {
    while (this.#queue.length > 0 && this.#open()) this.#send(this.#queue.shift()!);
  }

  stats(): OutboxStats {
    return { buffered: this.#queue.length, dropped: this.#dropped, inflight: this.#inflight, sent: this.#sent };
  }
}
