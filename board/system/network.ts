// The wired network as systemd-networkd reads it (systemd.network(5)): DHCP, or a static address
// with gateway and DNS servers. One file, written durably; networkd applies it at the next boot or
// `networkctl reload`.
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { writeFileDurable } from '../../src/files/durable.ts';

export type NetworkPlan = { kind: 'dhcp' } | { kind: 'static'; address: string; gateway: string; dns: readonly string[] };

export const NETWORK_FILE = '20-wired.network';

export function networkFile(plan: NetworkPlan): string {
  const lines = ['# Written by yubin setup: every wired port.', '[Match]', 'Name=en* eth*', '', '[Network]'];
  if (plan.kind === 'dhcp') lines.push('DHCP=yes');
  else {
    lines.push(`Address=${plan.address}`, `Gateway=${plan.gateway}`);
    for (const d of plan.dns) lines.push(`DNS=${d}`);
  }
  return lines.join('\n') + '\n';
}

export async function writeNetwork(dir: string, plan: NetworkPlan): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const file = join(dir, NETWORK_FILE);
  await writeFileDurable(file, networkFile(plan), 0o644);
  return file;
}
