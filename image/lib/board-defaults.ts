// The settings a flashed board starts with (seeded into /data/yubin/config.json on first boot):
// listen on every interface on the standard mail ports, console on the kernel's UART.
import { validateSettings, type Db } from '../../src/config/store.ts';
import { CONFIG_VERSION } from '../../src/config/migrations.ts';

export const boardSettings: Record<string, unknown> = {
  'listen.address': '0.0.0.0',
  'smtp.port': 25,
  'smtp.submissionPort': 587,
  'smtp.smtpsPort': 465,
  'pop3.port': 110,
  'pop3.tlsPort': 995,
  // The web listener (ACME HTTP-01 on 80, MTA-STS policy and TLS-ALPN-01 on 443): open only when needed.
  'web.port': 80,
  'web.tlsPort': 443,
  // A link made at each start by /usr/lib/yubin/prepare from /sys/class/tty/console/active.
  'console.device': '/dev/yubin-console',
  // Password guessers, relay attackers and virus senders from outside go into the ban set.
  'alerts.autoBan': true,
};

/** The config.json text to seed; throws naming the key if the schema no longer accepts a default. */
export function boardConfigJson(extra: Record<string, unknown> = {}): string {
  const settings = { ...boardSettings, ...extra };
  const problems = validateSettings(settings);
  if (problems.length > 0) throw new Error(`board defaults rejected by the schema:\n  ${problems.join('\n  ')}`);
  const db: Db = { version: CONFIG_VERSION, settings, users: {}, aliases: {} };
  return JSON.stringify(db, null, 2) + '\n';
}
