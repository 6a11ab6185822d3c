// MQTT telemetry: retained availability with a last will, metrics every mqtt.metricsInterval,
// alerts as JSON events, Home Assistant discovery (re-sent on HA's birth message), and one
// command, alert/ack. Every publish goes through the bounded Outbox: a broker that is down
// never holds up a bus listener, so it never slows mail.
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Context, Service } from '../context.ts';
import type { AlertEngine } from '../alerts/engine.ts';
import { ATTACK_KINDS, type Alert } from '../events/alerts.ts';
import type { SettingKey } from '../config/schema.ts';
import type { EventMap } from '../events/bus.ts';
import type { Metrics } from './metrics.ts';
import { deviceDiscovery, discoveryMessages } from './discovery.ts';
import { publicDomains } from '../dnsrecords/records.ts';
import { topics, type Topics } from './topics.ts';
import { Outbox, type OutboxStats } from './outbox.ts';

/** Publishes awaiting their PUBACK before new ones wait in the outbox instead of MQTT.js. */
const MAX_INFLIGHT = 256;
/** Largest packet we accept from the broker (MQTT 5 Maximum Packet Size, §3.1.2.11.4). */
const MAX_PACKET = 64 * 1024;
/** Longest command payload: an alert id or 'all'. */
const MAX_COMMAND = 64;
const STOP_TIMEOUT_MS = 2000;

export interface MqttStatus extends OutboxStats {
  enabled: boolean;
  connected: boolean;
  broker: string;
}

export interface MqttService extends Service {
  status(): MqttStatus;
}

export interface MqttOptions {
  /** Firmware version for the Home Assistant device block. */
  version?: string;
}

type AlertsApi = Pick<AlertEngine, 'activeCount' | 'ack'>;

async function readPem(key: SettingKey, file: string): Promise<Buffer | undefined> {
  if (file === '') return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    throw new Error(`${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export function createMqttService(ctx: Context, alerts: AlertsApi, metrics: Metrics, options: MqttOptions = {}): MqttService {
  let client: MqttClient | undefined;
  let tp: Topics | undefined;
  let timer: NodeJS.Timeout | undefined;
  let detach: (() => void)[] = [];
  let lastError = '';
  let sampling = false;
  const get = ctx.store.get.bind(ctx.store);

  const outbox = new Outbox(
    {
      connected: () => client?.connected === true,
      send: (topic, payload, opts, done) => {
        client!.publish(topic, payload, opts, (err) => done(err ?? undefined));
      },
    },
    () => get('mqtt.offlineBuffer'),
    MAX_INFLIGHT,
    (err) => ctx.log.log('warn', 'MQTT publish failed', { error: err.message }),
  );

  const json = (value: unknown): string => JSON.stringify(value);

  let attackShown: string | undefined;
  /** Publish "under attack" when it changes (or on connect): a flood of alerts is one state. */
  const publishAttack = (force = false): void => {
    const state = alerts.activeCount(ATTACK_KINDS) > 0 ? 'ON' : 'OFF';
    if (!force && state === attackShown) return;
    attackShown = outbox.volatile(tp!.attack, state, { qos: 1, retain: true }) ? state : undefined;
  };

  const publishMetrics = (): void => {
    if (sampling) return; // a slow statfs must not pile up samples
    sampling = true;
    metrics.snapshot().then(
      (m) => outbox.volatile(tp!.metrics, json(m), { qos: 0, retain: true }),
      (err: Error) => ctx.log.log('warn', 'metrics sample failed', { error: err.message }),
    ).finally(() => { sampling = false; });
  };

  const announce = (): void => {
    const model = `${get('board.profile')} (${get('role')})`;
    const domains = get('dnsrecords.watch') ? publicDomains(get('domains')) : [];
    const input = { topics: tp!, hostname: get('hostname'), model, version: options.version ?? 'dev', dnsDomains: domains.length > 0 ? [get('hostname'), ...domains] : [],
      dmarcDomains: get('dmarcreport.readIncoming') ? publicDomains(get('domains')) : [] };
    if (get('mqtt.discovery') === 'device') {
      outbox.volatile(tp!.deviceDiscovery, json(deviceDiscovery(input)), { qos: 1, retain: true });
      return;
    }
    for (const d of discoveryMessages(input)) {
      outbox.volatile(tp!.discovery(d.component, d.objectId), json(d.config), { qos: 1, retain: true });
    }
  };

  /** A retained config of the form not in use (left from before a switch) is removed: an empty
   * retained message deletes it in Home Assistant and on the broker. */
  const clearStale = (topic: string, payload: Buffer): void => {
    if (payload.length === 0) return;
    const device = get('mqtt.discovery') === 'device';
    if (device ? topic !== tp!.deviceDiscovery : topic === tp!.deviceDiscovery) {
      outbox.volatile(topic, '', { qos: 1, retain: true });
    }
  };

  /** The DNS watch's verdict per domain, for the DNS sensors (retained: a dashboard shows it at once). */
  let lastDns: EventMap['dns.checked'] | undefined;
  const publishDns = (p: EventMap['dns.checked']): void => {
    lastDns = p;
    for (const d of p.domains) outbox.volatile(tp!.dns(d.domain), json({ ...d, checkedAt: p.checkedAt }), { qos: 1, retain: true });
  };

  const reply = (body: { command: string; ok: boolean; cleared?: string[]; error?: string }): void => {
    outbox.event(tp!.result, json(body), { qos: 1, retain: false });
  };

  const command = (name: string, payload: Buffer): void => {
    if (name !== 'alert/ack') {
      reply({ command: name, ok: false, error: `unknown command ${JSON.stringify(name)}: only alert/ack is accepted` });
      return;
    }
    if (payload.length > MAX_COMMAND) {
      reply({ command: name, ok: false, error: `payload too long (${payload.length} bytes, at most ${MAX_COMMAND}): send an alert id, 'all' or nothing` });
      return;
    }
    const arg = payload.toString('utf8').trim();
    try {
      const cleared = arg === '' || arg === 'all' ? alerts.ack() : alerts.ack(arg);
      ctx.log.log('info', 'alerts acknowledged over MQTT', { ids: cleared.map((a) => a.id) });
      reply({ command: name, ok: true, cleared: cleared.map((a) => a.id) });
    } catch (err) {
      reply({ command: name, ok: false, error: (err as Error).message });
    }
  };

  const onAlert = (topic: string, eventType: string, alert: Alert): void => {
    // HA event entities read event_type from the JSON body.
    outbox.event(topic, json({ event_type: eventType, ...alert }));
    publishAttack();
  };

  /** The settings this link was opened with; a change (console `commit`, CLI) reconnects. */
  const fingerprint = (): string =>
    JSON.stringify(Object.entries(ctx.store.settings).filter(([k]) => k.startsWith('mqtt.') || k === 'hostname' || k === 'board.profile'));
  let opened = '';
  let unwatch: (() => void) | undefined;
  let serial = Promise.resolve();

  async function open(): Promise<void> {
    opened = fingerprint();
    const url = get('mqtt.url');
    if (url === '') {
      ctx.log.log('info', 'MQTT off (mqtt.url is empty)');
      return;
    }
    if (client) return;
    // MQTT.js (several MiB of RSS) is loaded only when a broker is configured.
    const { connect } = (await import('mqtt')).default;
    tp = topics(get('mqtt.topicPrefix'), get('mqtt.discoveryPrefix'), get('hostname'));
    const [ca, cert, key] = await Promise.all([
      readPem('mqtt.ca', get('mqtt.ca')), readPem('mqtt.cert', get('mqtt.cert')), readPem('mqtt.key', get('mqtt.key')),
    ]);
    const opts: IClientOptions = {
      clientId: `yubin_${tp.node}_${randomBytes(3).toString('hex')}`,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: get('mqtt.reconnectSeconds') * 1000,
      connectTimeout: 10_000,
      queueQoSZero: false,
      properties: { maximumPacketSize: MAX_PACKET },
      will: { topic: tp.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(get('mqtt.username') !== '' ? { username: get('mqtt.username') } : {}),
      ...(get('mqtt.password') !== '' ? { password: get('mqtt.password') } : {}),
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    };
    const c = connect(url, opts);
    client = c;
    const t = tp;
    c.on('connect', () => {
      lastError = '';
      ctx.log.log('info', 'MQTT connected', { broker: url });
      const stale = get('mqtt.discovery') === 'device' ? t.entityDiscoveryFilter : t.deviceDiscovery;
      c.subscribe([t.haStatus, `${t.command}/#`, stale], { qos: 1 }, (err) => {
        if (err) ctx.log.log('warn', 'MQTT subscribe failed', { error: err.message });
      });
      outbox.volatile(t.availability, 'online', { qos: 1, retain: true });
      announce();
      publishAttack();
      publishMetrics();
      if (lastDns) publishDns(lastDns);
      outbox.flush();
    });
    c.on('message', (topic, payload) => {
      if (topic === t.haStatus) {
        if (payload.toString('utf8').trim() === 'online') announce();
      } else if (topic.startsWith(`${t.command}/`)) {
        command(topic.slice(t.command.length + 1), payload);
      } else if (topic.endsWith('/config')) {
        clearStale(topic, payload);
      }
    });
    c.on('error', (err) => {
      // Reconnects repeat the same error every few seconds: log each distinct one once.
      if (err.message !== lastError) ctx.log.log('warn', 'MQTT error', { broker: url, error: err.message });
      lastError = err.message;
    });
    c.on('offline', () => ctx.log.log('debug', 'MQTT broker away', { broker: url, buffered: outbox.stats().buffered }));
    detach = [
      ctx.bus.on('alert.raised', (a) => onAlert(t.alert, a.kind, a)),
      ctx.bus.on('alert.cleared', (a) => onAlert(t.alertCleared, a.reason, a)),
      ctx.bus.on('dns.checked', publishDns),
      ctx.bus.on('dmarc.report', (p) => outbox.volatile(t.dmarc(p.domain), json(p), { qos: 1, retain: true })),
    ];
    timer = setInterval(publishMetrics, get('mqtt.metricsInterval') * 1000);
    timer.unref();
  }

  async function close(): Promise<void> {
    for (const off of detach) off();
    detach = [];
    clearInterval(timer);
    const c = client;
    client = undefined;
    if (!c) return;
    const closed = new Promise<void>((resolve) => {
      if (c.connected) {
        // A clean disconnect suppresses the will, so say offline ourselves first.
        c.publish(tp!.availability, 'offline', { qos: 1, retain: true }, () => c.end(false, {}, () => resolve()));
      } else {
        c.end(true, {}, () => resolve());
      }
    });
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => { timeout = setTimeout(resolve, STOP_TIMEOUT_MS); })]);
    clearTimeout(timeout);
    c.end(true);
  }

  // A reconnect that fails (an unreadable mqtt.ca) rejects the listener's promise: the bus reports
  // it and the supervisor marks MQTT down and retries it (firmware/extensions.ts).
  const reopen = (): Promise<void> | undefined => {
    if (fingerprint() === opened) return undefined;
    const run = serial.then(async () => {
      if (fingerprint() === opened) return;
      ctx.log.log('info', 'MQTT settings changed: reconnecting');
      await close();
      await open();
    });
    serial = run.catch(() => undefined);
    return run;
  };

  return {
    name: 'mqtt',
    async start() {
      unwatch ??= ctx.bus.on('config.changed', reopen);
      await open();
    },
    async stop() {
      unwatch?.();
      unwatch = undefined;
      await serial;
      await close();
    },
    status() {
      return { enabled: get('mqtt.url') !== '', connected: client?.connected === true, broker: get('mqtt.url'), ...outbox.stats() };
    },
  };
}
