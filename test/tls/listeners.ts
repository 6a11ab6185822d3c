// The TLS listeners of a running firmware and how a client reaches TLS on each: right away
// (465, 995) or after STARTTLS/STLS (25, 587, 110). The TLS tests' clients take their flags from here.
import type { Firmware } from '../../firmware/supervisor.ts';

export interface TlsListener {
  /** The name in the firmware's ready line (smtp = the MTA port). */
  name: 'smtp' | 'submission' | 'smtps' | 'pop3' | 'pop3s';
  port: number;
  /** The protocol whose upgrade command comes first (openssl's and testssl's `-starttls`), or null for implicit TLS. */
  starttls: 'smtp' | 'pop3' | null;
}

const HOW = { smtp: 'smtp', submission: 'smtp', smtps: null, pop3: 'pop3', pop3s: null } as const;

/** Every TLS listener; throws if one is not running, so no test passes by leaving a port out. */
export function tlsListeners(fw: Firmware): TlsListener[] {
  const ports = fw.ports();
  return (Object.keys(HOW) as Array<keyof typeof HOW>).map((name) => {
    const port = ports[name];
    if (!port) throw new Error(`the ${name} listener is not running (ports: ${JSON.stringify(ports)})`);
    return { name, port, starttls: HOW[name] };
  });
}
