// Every MQTT topic Yubin uses, derived from the prefixes and the board's node id in one place.

export interface Topics {
  readonly node: string;
  /** 'online' / 'offline', retained; 'offline' is also the last will. */
  readonly availability: string;
  /** JSON MetricsSnapshot, retained so a dashboard shows values at once. */
  readonly metrics: string;
  /** JSON alert on each alert.raised (event_type = alert kind). */
  readonly alert: string;
  /** JSON alert on each alert.cleared (event_type = ack | resolved | overflow). */
  readonly alertCleared: string;
  /** 'ON' while an attack alert is latched, else 'OFF'; retained. */
  readonly attack: string;
  /** Commands arrive below this; only <command>/alert/ack is accepted. */
  readonly command: string;
  readonly ackCommand: string;
  /** JSON answer to each command. */
  readonly result: string;
  /** Home Assistant's birth/will topic. */
  readonly haStatus: string;
  discovery(component: string, objectId: string): string;
  /** Home Assistant's device-based discovery (HA 2024.11): one config for the whole device. */
  readonly deviceDiscovery: string;
  /** Every per-entity discovery topic of this node (a wildcard, to find stale ones). */
  readonly entityDiscoveryFilter: string;
  /** The DNS watch's state of one domain, JSON, retained. */
  dns(domain: string): string;
  /** DMARC aggregate reports received about one domain: totals, JSON, retained. */
  dmarc(domain: string): string;
}

/** MQTT topic level from a host name: dots and anything outside [A-Za-z0-9_-] become '_'. */
export function nodeId(hostname: string): string {
  return hostname.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'yubin';
}

export function topics(prefix: string, discoveryPrefix: string, hostname: string): Topics {
  const node = nodeId(hostname);
  const base = `${prefix.replace(/\/+$/, '')}/${node}`;
  const disc = discoveryPrefix.replace(/\/+$/, '');
  return {
    node,
    availability: `${base}/availability`,
    metrics: `${base}/metrics`,
    alert: `${base}/alert`,
    alertCleared: `${base}/alert/cleared`,
    attack: `${base}/attack`,
    command: `${base}/command`,
    ackCommand: `${base}/command/alert/ack`,
    result: `${base}/result`,
    haStatus: `${disc}/status`,
    // https://www.home-assistant.io/integrations/mqtt/#discovery-topic: <prefix>/<component>/[<node_id>/]<object_id>/config
    discovery: (component, objectId) => `${disc}/${component}/${node}/${objectId}/config`,
    // https://www.home-assistant.io/integrations/mqtt/#device-discovery-payload
    deviceDiscovery: `${disc}/device/${node}/config`,
    entityDiscoveryFilter: `${disc}/+/${node}/+/config`,
    dns: (domain) => `${base}/dns/${nodeId(domain)}`,
    dmarc: (domain) => `${base}/dmarc/${nodeId(domain)}`,
  };
}
