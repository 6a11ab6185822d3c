// Lines for `show status` (the console's status hook): counters since start and the MQTT link.
import type { MetricsSnapshot } from './metrics.ts';
import type { MqttStatus } from './mqtt.ts';

const mib = (bytes: number | null): string => (bytes === null ? 'unknown' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

export function formatStatus(m: MetricsSnapshot, mqtt?: MqttStatus): string {
  const lines = [
    `mail: ${m.messagesIn} received, ${m.messagesOut} delivered, ${m.messagesRejected} rejected, queue ${m.queueDepth}, ${m.deliveryFailures} delivery failures`,
    // One count per status of the log's delivery lines (status=sent, status=rejected…), since start.
    `recipients: ${Object.entries(m.recipients).map(([status, n]) => `${n} ${status}`).join(', ')}`,
    `guard: ${m.relaysDenied} relays denied, ${m.earlyTalkers} early talkers, ${m.authFailures} login failures, ${m.viruses} viruses, ${m.op25bHits} OP25B blocked, ${m.activeAlerts} active alerts`,
    `disk free: ${mib(m.diskFreeBytes)}`,
  ];
  if (mqtt) {
    lines.push(!mqtt.enabled
      ? 'mqtt: off (mqtt.url is empty)'
      : `mqtt: ${mqtt.connected ? 'connected to' : 'away from'} ${mqtt.broker}, ${mqtt.sent} sent, ${mqtt.buffered} waiting, ${mqtt.dropped} dropped`);
  }
  return lines.join('\n') + '\n';
}
