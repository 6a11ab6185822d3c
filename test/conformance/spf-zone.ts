// Turns the openspf suite's zonedata into our test DNS server's zone, following the rules of the
// upstream driver (conformance/spf/README.md): SPF copied to TXT when there is no TXT, NONE
// entries, TIMEOUT names, and missing "error." names timing out.
import type { FailMode, Zone, ZoneEntry } from '../support/dns-server.ts';

type Rr = string | Record<string, unknown>;

export function suiteZone(zonedata: Record<string, Rr[]>): { zone: Zone; missing: (name: string) => FailMode } {
  const zone: Zone = {};
  for (const [rawName, rrs] of Object.entries(zonedata ?? {})) {
    const name = rawName.toLowerCase();
    const entry: ZoneEntry = {};
    const spf: Array<string | string[]> = [];
    let txtListed = false;
    for (const rr of rrs ?? []) {
      if (rr === 'TIMEOUT') {
        entry.fail = 'TIMEOUT';
        continue;
      }
      if (typeof rr !== 'object' || rr === null) continue;
      for (const [type, value] of Object.entries(rr)) {
        switch (type) {
          case 'TXT':
            txtListed = true;
            if (value !== 'NONE') (entry.TXT ??= []).push(txtValue(value));
            break;
          case 'SPF':
            if (value !== 'NONE') spf.push(txtValue(value));
            else txtListed = true; // "SPF: NONE" blocks the auto-copy
            break;
          case 'A': (entry.A ??= []).push(String(value)); break;
          case 'AAAA': (entry.AAAA ??= []).push(String(value)); break;
          case 'PTR': (entry.PTR ??= []).push(String(value)); break;
          case 'CNAME': entry.CNAME = String(value); break;
          case 'MX': {
            const [preference, exchange] = value as [number, string];
            (entry.MX ??= []).push({ preference: Number(preference), exchange: String(exchange) });
            break;
          }
          default: break;
        }
      }
    }
    if (!txtListed && spf.length > 0) entry.TXT = spf;
    zone[name] = entry;
  }
  return { zone, missing: (name) => (name.startsWith('error.') ? 'TIMEOUT' : 'NXDOMAIN') };
}

function txtValue(value: unknown): string | string[] {
  return Array.isArray(value) ? value.map(String) : String(value);
}
