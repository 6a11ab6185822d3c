// Home Assistant MQTT discovery as data: one device block shared by every entity, sensors for
// the metrics, a binary_sensor "under attack", event entities for alerts, a button to ack.
// Field names follow https://www.home-assistant.io/integrations/mqtt/ (sensor, binary_sensor,
// event, button); the objects are serialised with JSON.stringify, never pasted as strings.
import { ALERT_KINDS } from '../events/alerts.ts';
import type { MetricsSnapshot } from './metrics.ts';
import { nodeId as nodeIdOf, type Topics } from './topics.ts';

export interface DeviceBlock {
  identifiers: string[];
  name: string;
  manufacturer: string;
  model: string;
  sw_version: string;
}

interface EntityBase {
  name: string;
  unique_id: string;
  availability_topic: string;
  payload_available: string;
  payload_not_available: string;
  device: DeviceBlock;
  icon?: string;
  entity_category?: 'diagnostic' | 'config';
}

export interface SensorConfig extends EntityBase {
  state_topic: string;
  value_template: string;
  json_attributes_topic?: string;
  unit_of_measurement?: string;
  device_class?: string;
  state_class?: 'measurement' | 'total' | 'total_increasing';
}

export interface BinarySensorConfig extends EntityBase {
  state_topic: string;
  payload_on: string;
  payload_off: string;
  device_class?: string;
}

export interface EventConfig extends EntityBase {
  state_topic: string;
  event_types: string[];
}

export interface ButtonConfig extends EntityBase {
  command_topic: string;
  payload_press: string;
}

export type Discovery =
  | { component: 'sensor'; objectId: string; config: SensorConfig }
  | { component: 'binary_sensor'; objectId: string; config: BinarySensorConfig }
  | { component: 'event'; objectId: string; config: EventConfig }
  | { component: 'button'; objectId: string; config: ButtonConfig };

interface SensorSpec {
  key: keyof MetricsSnapshot;
  name: string;
  icon?: string;
  unit?: string;
  device_class?: string;
  state_class: 'measurement' | 'total_increasing';
  diagnostic?: boolean;
}

/** One row per metric; a new metric on the dashboard = a new row here. */
export const SENSORS: readonly SensorSpec[] = [
  { key: 'messagesIn', name: 'Messages received', icon: 'mdi:email-arrow-left', state_class: 'total_increasing' },
  { key: 'messagesOut', name: 'Messages delivered', icon: 'mdi:email-arrow-right', state_class: 'total_increasing' },
  { key: 'messagesRejected', name: 'Messages rejected', icon: 'mdi:email-remove', state_class: 'total_increasing' },
  { key: 'queueDepth', name: 'Queue depth', icon: 'mdi:tray-full', state_class: 'measurement' },
  { key: 'relaysDenied', name: 'Relays denied', icon: 'mdi:shield-alert', state_class: 'total_increasing' },
  { key: 'earlyTalkers', name: 'Early talkers refused', icon: 'mdi:account-voice-off', state_class: 'total_increasing' },
  { key: 'authFailures', name: 'Login failures', icon: 'mdi:account-lock', state_class: 'total_increasing' },
  { key: 'viruses', name: 'Viruses found', icon: 'mdi:virus', state_class: 'total_increasing' },
  { key: 'op25bHits', name: 'OP25B blocked', icon: 'mdi:wall-fire', state_class: 'total_increasing' },
  { key: 'activeAlerts', name: 'Active alerts', icon: 'mdi:alert', state_class: 'measurement' },
  { key: 'rssBytes', name: 'Memory used', unit: 'B', device_class: 'data_size', state_class: 'measurement', diagnostic: true },
  { key: 'uptimeSeconds', name: 'Uptime', unit: 's', device_class: 'duration', state_class: 'measurement', diagnostic: true },
  { key: 'diskFreeBytes', name: 'Disk free', unit: 'B', device_class: 'data_size', state_class: 'measurement', diagnostic: true },
];

export interface DiscoveryInput {
  topics: Topics;
  hostname: string;
  model: string;
  version: string;
  /** Domains (and the host name) the DNS watch reports on: one sensor each. */
  dnsDomains?: readonly string[];
  /** Domains whose received DMARC reports are summed up: one sensor each (messages that failed). */
  dmarcDomains?: readonly string[];
}

const snake = (key: string): string => key.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);

export function discoveryMessages(input: DiscoveryInput): Discovery[] {
  const { topics: tp } = input;
  const device: DeviceBlock = {
    identifiers: [`yubin_${tp.node}`],
    name: `Yubin ${input.hostname}`,
    manufacturer: 'Yubin',
    model: input.model,
    sw_version: input.version,
  };
  const base = (objectId: string, name: string): EntityBase => ({
    name,
    unique_id: `yubin_${tp.node}_${objectId}`,
    availability_topic: tp.availability,
    payload_available: 'online',
    payload_not_available: 'offline',
    device,
  });
  const sensors: Discovery[] = SENSORS.map((s) => {
    const objectId = snake(s.key);
    const config: SensorConfig = {
      ...base(objectId, s.name),
      state_topic: tp.metrics,
      value_template: `{{ value_json.${s.key} }}`,
      state_class: s.state_class,
      ...(s.icon ? { icon: s.icon } : {}),
      ...(s.unit ? { unit_of_measurement: s.unit } : {}),
      ...(s.device_class ? { device_class: s.device_class } : {}),
      ...(s.diagnostic ? { entity_category: 'diagnostic' as const } : {}),
    };
    return { component: 'sensor', objectId, config };
  });
  // One sensor per domain the DNS watch checks: ok / problem / unknown, the records to fix as attributes.
  const dns: Discovery[] = (input.dnsDomains ?? []).map((domain) => {
    const objectId = `dns_${nodeIdOf(domain)}`;
    const config: SensorConfig = {
      ...base(objectId, `DNS ${domain}`),
      state_topic: tp.dns(domain),
      value_template: '{{ value_json.state }}',
      json_attributes_topic: tp.dns(domain),
      icon: 'mdi:dns',
    };
    return { component: 'sensor', objectId, config };
  });
  // Mail claiming the domain that failed DMARC at the receivers that report (total since reports began).
  const dmarc: Discovery[] = (input.dmarcDomains ?? []).map((domain) => {
    const objectId = `dmarc_failed_${nodeIdOf(domain)}`;
    const config: SensorConfig = {
      ...base(objectId, `DMARC failures ${domain}`),
      state_topic: tp.dmarc(domain),
      value_template: '{{ value_json.failed }}',
      json_attributes_topic: tp.dmarc(domain),
      state_class: 'total_increasing',
      icon: 'mdi:email-alert',
    };
    return { component: 'sensor', objectId, config };
  });
  return [
    ...sensors,
    ...dns,
    ...dmarc,
    {
      component: 'binary_sensor', objectId: 'under_attack',
      // device_class safety: "on means unsafe", which is what an attack is.
      config: { ...base('under_attack', 'Under attack'), state_topic: tp.attack, payload_on: 'ON', payload_off: 'OFF', device_class: 'safety' },
    },
    {
      component: 'event', objectId: 'alert',
      config: { ...base('alert', 'Alert'), state_topic: tp.alert, event_types: [...ALERT_KINDS], icon: 'mdi:alert-octagon' },
    },
    {
      component: 'event', objectId: 'alert_cleared',
      config: { ...base('alert_cleared', 'Alert cleared'), state_topic: tp.alertCleared, event_types: ['ack', 'resolved', 'overflow'], icon: 'mdi:check-circle' },
    },
    {
      component: 'button', objectId: 'ack_alerts',
      config: { ...base('ack_alerts', 'Acknowledge alerts'), command_topic: tp.ackCommand, payload_press: 'all', icon: 'mdi:bell-check' },
    },
  ];
}

/** Origin of the discovery messages (HA's "o": who sends them, for HA's logs). */
export interface Origin {
  name: string;
  sw: string;
}

/** One component of a device discovery payload: the entity's config with its platform, no device block. */
export type Component = { p: Discovery['component'] } & Omit<Discovery['config'], 'device' | 'availability_topic' | 'payload_available' | 'payload_not_available'>;

/** HA 2024.11's device-based discovery: one retained config naming the device once ("dev"), the
 * origin ("o"), the shared availability, and every entity under "cmps" by object id. */
export interface DeviceDiscovery {
  dev: DeviceBlock;
  o: Origin;
  availability_topic: string;
  payload_available: string;
  payload_not_available: string;
  cmps: Record<string, Component>;
}

export function deviceDiscovery(input: DiscoveryInput): DeviceDiscovery {
  const entities = discoveryMessages(input);
  const first = entities[0]!.config;
  const cmps: Record<string, Component> = {};
  for (const e of entities) {
    const { device: _d, availability_topic: _a, payload_available: _on, payload_not_available: _off, ...rest } = e.config;
    cmps[e.objectId] = { p: e.component, ...rest } as Component;
  }
  return {
    dev: first.device,
    o: { name: 'Yubin', sw: input.version },
    availability_topic: first.availability_topic,
    payload_available: first.payload_available,
    payload_not_available: first.payload_not_available,
    cmps,
  };
}
