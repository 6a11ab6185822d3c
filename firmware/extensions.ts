// Extensions: every part of the firmware that is not mail (LEDs, MQTT, the firewall, health checks,
// quarantine sweeps, the console). As zigbee2mqtt's controller does in startExtension, each one
// starts on its own: one that fails to start, or whose bus listener throws (a crash: the bus names
// the listener's owner), is logged, stopped, reported with service.down (an alert: LED, MQTT,
// `show status`) and tried again with backoff, while mail goes on. When it comes back, service.up
// resolves the alert. Settings an extension reads only at start are applied by restarting it.
import type { Context, Service } from '../src/context.ts';
import type { SettingKey } from '../src/config/schema.ts';

export interface Extension extends Service {
  /** Settings read only when the extension starts: a committed change restarts it (so they apply live). */
  readonly restartOn?: readonly SettingKey[];
}

export interface Backoff {
  /** Wait before the first retry; doubled after each further failure. */
  readonly firstMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { firstMs: 5_000, maxMs: 5 * 60_000 };
/** A start that takes longer than this counts as failed (mail must never wait on an extension). */
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
/** Up this long and a crash starts the backoff from the beginning again. */
const STABLE_MS = 60_000;

export type ExtensionState = 'new' | 'starting' | 'up' | 'down' | 'stopped';

export interface ExtensionStatus {
  readonly name: string;
  readonly state: ExtensionState;
  /** Since when it is in this state (ms since the epoch). */
  readonly since: number;
  /** Why it is down: the error of the last attempt. */
  readonly reason?: string;
  /** Failed starts or crashes in a row. */
  readonly failures: number;
  /** When the next attempt is due (down only). */
  readonly retryAt?: number;
}

interface Slot {
  readonly name: string;
  readonly extension: Extension;
  state: ExtensionState;
  since: number;
  reason?: string;
  failures: number;
  retryAt?: number;
  timer?: NodeJS.Timeout;
  /** service.down was emitted and service.up has not followed yet. */
  reported: boolean;
  /** Starts, stops and restarts of one extension run one at a time. */
  chain: Promise<void>;
}

/** Run `work` within `ms`, else fail with `message` (the work itself goes on; see #start). */
function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export interface ExtensionsOptions {
  backoff?: Backoff;
  startTimeoutMs?: number;
}

export class Extensions {
  readonly #ctx: Context;
  readonly #backoff: Backoff;
  readonly #startTimeoutMs: number;
  readonly #slots: Slot[] = [];
  #stopping = false;
  #detach: (() => void)[] = [];

  constructor(ctx: Context, options: ExtensionsOptions = {}) {
    this.#ctx = ctx;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#startTimeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
    this.#detach = [
      ctx.bus.onListenerFailure(({ owner, event, error }) => this.crashed(owner, new Error(`its ${event} listener failed: ${error.message}`))),
      ctx.bus.on('config.changed', ({ keys }) => this.#configChanged(keys)),
    ];
  }

  /**
   * Add an extension, built on a context whose bus names it as the owner of its listeners.
   * Returns what `make` built, so the supervisor can lend it to commands (firewall, MQTT status).
   */
  add<E extends Extension>(name: string, make: (ctx: Context) => E): E {
    if (this.#slots.some((s) => s.name === name)) throw new Error(`extension ${name} added twice`);
    const extension = make({ ...this.#ctx, bus: this.#ctx.bus.for(name) });
    this.#slots.push({ name, extension, state: 'new', since: Date.now(), failures: 0, reported: false, chain: Promise.resolve() });
    return extension;
  }

  /** Start every extension not started yet, in the order added; never throws. */
  async start(): Promise<void> {
    this.#stopping = false;
    for (const slot of this.#slots) {
      if (slot.state === 'new') await this.#run(slot, () => this.#start(slot));
    }
  }

  /** Stop them all, last added first. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const off of this.#detach) off();
    this.#detach = [];
    for (const slot of [...this.#slots].reverse()) {
      clearTimeout(slot.timer);
      await this.#run(slot, async () => {
        if (slot.state === 'up' || slot.state === 'starting') await this.#stopQuietly(slot);
        this.#set(slot, 'stopped');
      });
    }
  }

  status(): ExtensionStatus[] {
    return this.#slots.map((s) => ({
      name: s.name,
      state: s.state,
      since: s.since,
      failures: s.failures,
      ...(s.reason !== undefined ? { reason: s.reason } : {}),
      ...(s.retryAt !== undefined ? { retryAt: s.retryAt } : {}),
    }));
  }

  /** A running extension failed: stop it, report it down, and try it again later. */
  crashed(name: string, error: Error): void {
    const slot = this.#slots.find((s) => s.name === name);
    if (!slot || slot.state !== 'up' || this.#stopping) return;
    if (Date.now() - slot.since >= STABLE_MS) slot.failures = 0;
    this.#ctx.log.log('error', 'extension crashed', { service: name, error: error.message });
    void this.#run(slot, async () => {
      if (slot.state !== 'up') return;
      await this.#stopQuietly(slot);
      this.#down(slot, error);
    });
  }

  #configChanged(keys: readonly string[]): void {
    for (const slot of this.#slots) {
      if (slot.state === 'up' && slot.extension.restartOn?.some((k) => keys.includes(k))) {
        this.#ctx.log.log('info', 'settings changed: restarting extension', { service: slot.name, keys: keys.filter((k) => slot.extension.restartOn!.includes(k as SettingKey)) });
        void this.#run(slot, async () => {
          if (slot.state !== 'up') return;
          await this.#stopQuietly(slot);
          this.#set(slot, 'stopped');
          await this.#start(slot);
        });
      } else if (slot.state === 'down') {
        // A change of settings is the likeliest fix of a failed start: try again now.
        clearTimeout(slot.timer);
        void this.#run(slot, () => this.#start(slot));
      }
    }
  }

  #run(slot: Slot, job: () => Promise<void>): Promise<void> {
    const run = slot.chain.then(job);
    slot.chain = run.catch(() => undefined);
    return run;
  }

  #set(slot: Slot, state: ExtensionState): void {
    slot.state = state;
    slot.since = Date.now();
  }

  async #start(slot: Slot): Promise<void> {
    if (this.#stopping || slot.state === 'up') return;
    this.#set(slot, 'starting');
    slot.retryAt = undefined;
    const starting = slot.extension.start();
    try {
      await within(starting, this.#startTimeoutMs, `did not start within ${Math.round(this.#startTimeoutMs / 1000)} s`);
    } catch (err) {
      // Whatever half started is stopped; a start that timed out is stopped once it is done (if ever).
      await within(starting, STOP_TIMEOUT_MS, 'still starting').catch(() => undefined);
      await this.#stopQuietly(slot);
      this.#down(slot, err as Error);
      return;
    }
    this.#set(slot, 'up');
    slot.reason = undefined;
    if (slot.reported) {
      slot.reported = false;
      this.#ctx.log.log('info', 'extension up again', { service: slot.name, after: slot.failures });
      this.#ctx.bus.emit('service.up', { service: slot.name });
    }
  }

  #down(slot: Slot, error: Error): void {
    slot.failures += 1;
    slot.reason = error.message;
    this.#set(slot, 'down');
    if (this.#stopping) return;
    const delay = Math.min(this.#backoff.firstMs * 2 ** (slot.failures - 1), this.#backoff.maxMs);
    slot.retryAt = Date.now() + delay;
    this.#ctx.log.log('error', 'extension down; mail goes on', { service: slot.name, error: error.message, retryInSeconds: Math.round(delay / 1000) });
    slot.reported = true;
    this.#ctx.bus.emit('service.down', { service: slot.name, reason: error.message });
    clearTimeout(slot.timer);
    slot.timer = setTimeout(() => void this.#run(slot, () => this.#start(slot)), delay);
    slot.timer.unref();
  }

  async #stopQuietly(slot: Slot): Promise<void> {
    try {
      await within(slot.extension.stop(), STOP_TIMEOUT_MS, `did not stop within ${STOP_TIMEOUT_MS / 1000} s`);
    } catch (err) {
      this.#ctx.log.log('warn', 'extension stop failed', { service: slot.name, error: (err as Error).message });
    }
  }
}

/** `show status` lines: each extension's state, and why the ones that are down are down. */
export function formatExtensions(list: readonly ExtensionStatus[], now = Date.now()): string {
  if (list.length === 0) return '';
  const lines = [`extensions: ${list.map((e) => `${e.name} ${e.state === 'down' ? 'DOWN' : e.state}`).join(', ')}`];
  for (const e of list) {
    if (e.state !== 'down') continue;
    const next = e.retryAt !== undefined ? `; next try in ${Math.max(0, Math.ceil((e.retryAt - now) / 1000))} s` : '';
    lines.push(`  ${e.name} down since ${new Date(e.since).toISOString()}: ${e.reason ?? 'unknown'} (${e.failures} failed ${e.failures === 1 ? 'try' : 'tries'}${next})`);
  }
  return lines.join('\n') + '\n';
}
