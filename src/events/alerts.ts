// The alert record every subscriber sees (LEDs, MQTT, the ban module, `show alerts`).
// Kept apart from the engine so the event bus can name it without importing the engine.

export type Severity = 'info' | 'warning' | 'critical';

export const ALERT_KINDS = [
  'relay-attack',
  'auth-attack',
  'virus',
  'op25b',
  'queue-backlog',
  'delivery-failures',
  'disk-low',
  'service-down',
  'internal-error',
  'config-invalid',
  'lifecycle',
  'dns-record',
  'certificate',
  'certificate-expiry',
] as const;

export type AlertKind = (typeof ALERT_KINDS)[number];

/** Kinds that mean somebody is attacking the office (the "under attack" binary sensor). */
export const ATTACK_KINDS: readonly AlertKind[] = ['relay-attack', 'auth-attack', 'virus', 'op25b'];

export interface Alert {
  /** Short id an admin types: `alert ack 7`. Unique for this boot. */
  readonly id: string;
  readonly kind: AlertKind;
  readonly severity: Severity;
  /** What the alert is about: a client IP, a service name, a path, or 'queue'. */
  readonly source: string;
  /** Events counted for this alert (grows while the alert stays latched). */
  readonly count: number;
  readonly text: string;
  /** ISO 8601 time the alert was raised. */
  readonly time: string;
}

/** ack: an admin acknowledged it; resolved: the condition went away; overflow: too many latched. */
export type ClearReason = 'ack' | 'resolved' | 'overflow';

export interface ClearedAlert extends Alert {
  readonly reason: ClearReason;
  /** ISO 8601 time the alert was cleared. */
  readonly clearedAt: string;
}
