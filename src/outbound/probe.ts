// A smarthost tried on the spot (first-boot setup, OP25B): the hop resolved and a session opened
// exactly as a delivery through relay.smarthost would (TLS, AUTH), then QUIT; no mail is sent.
import type { Settings } from '../config/schema.ts';
import type { DnsResolver } from '../dns/resolver.ts';
import { addressesOf } from './mx.ts';
import { relayTls, splitHostPort } from './deliverer.ts';
import { probeSession } from './transaction.ts';

type Get = <K extends keyof Settings>(key: K) => Settings[K];

export async function probeSmarthost(get: Get, resolver: DnsResolver, timeoutMs = 15_000): Promise<{ ok: true; text: string } | { ok: false; text: string }> {
  const value = get('relay.smarthost');
  if (!value) return { ok: false, text: 'relay.smarthost is not set' };
  const { host, port } = splitHostPort(value, get('outbound.port'));
  const found = await addressesOf(host, resolver);
  if (found.addresses.length === 0) return { ok: false, text: `${host}: ${found.temporary?.message ?? 'no such host (no address)'}` };
  const user = get('relay.smarthostUser');
  const options = {
    heloName: get('hostname'),
    tls: relayTls(get('relay.smarthostTls'), user),
    connectTimeoutMs: timeoutMs,
    greetingTimeoutMs: timeoutMs,
    socketTimeoutMs: timeoutMs,
    ...(user ? { auth: { user, pass: get('relay.smarthostPassword') } } : {}),
  };
  let last = '';
  for (const address of found.addresses) {
    const r = await probeSession({ address, port, name: host }, options);
    if (r.ok) return { ok: true, text: `${host}:${port} [${address}] took us${r.tls ? ' over TLS' : ''}${user ? `, AUTH as ${user} accepted` : ''}` };
    last = r.reply;
  }
  return { ok: false, text: last };
}
