// MQTT telemetry settings: broker, credentials, TLS files, topics, and how much to keep offline.
import { setting, int, oneOf, text, path } from '../settings/kinds.ts';
import type { Setting } from '../settings/kinds.ts';

const topicPart = text(/^[A-Za-z0-9_-][A-Za-z0-9_/-]{0,99}$/, 'an MQTT topic prefix of letters, digits, _ - and / (no wildcards, no leading /)');

export const settings = {
  'mqtt.url': setting(text(/^$|^(mqtt|mqtts|ws|wss):\/\/[^\s/]+(:\d{1,5})?\/?$/, 'empty, or mqtt://host[:port] or mqtts://host[:port]'), '', 'live',
    'Broker URL. Empty disables MQTT. mqtts:// uses TLS (mqtt.ca, mqtt.cert, mqtt.key).'),
  'mqtt.username': setting(text(), '', 'live', 'Broker user name; empty for none.'),
  'mqtt.password': setting(text(), '', 'live', 'Broker password (config.json is mode 0600).'),
  'mqtt.ca': setting(path, '', 'live', 'PEM file of the CA that signed the broker certificate; empty uses the system store.'),
  'mqtt.cert': setting(path, '', 'live', 'PEM client certificate for brokers that authenticate clients by TLS; empty for none.'),
  'mqtt.key': setting(path, '', 'live', 'PEM private key for mqtt.cert.'),
  'mqtt.topicPrefix': setting(topicPart, 'yubin', 'live', 'Topics are <prefix>/<hostname>/availability, /metrics, /alert, /command/alert/ack ...'),
  'mqtt.discoveryPrefix': setting(topicPart, 'homeassistant', 'live',
    "Home Assistant discovery prefix; discovery is re-sent when '<prefix>/status' says online (HA's birth message)."),
  'mqtt.discovery': setting(oneOf('device', 'entity'), 'device', 'live',
    "How Home Assistant discovery is sent: device, one <discoveryPrefix>/device/<node>/config for every entity (Home Assistant 2024.11 and later); entity, one config per entity (older Home Assistant). Switching removes the other form's retained configs."),
  'mqtt.metricsInterval': setting(int(1, 86400), 60, 'live', 'Seconds between metrics publications.'),
  'mqtt.offlineBuffer': setting(int(0, 10000), 100, 'live',
    'Alerts kept while the broker is away (oldest dropped first); metrics are not buffered, the next ones replace them.'),
  'mqtt.reconnectSeconds': setting(int(1, 3600), 5, 'live', 'Seconds between reconnection attempts to a broker that is away.'),
} satisfies Record<string, Setting<unknown>>;
