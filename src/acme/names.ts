// The names the board's certificate must carry: its hostname, mta-sts.DOMAIN for each local domain
// while an MTA-STS policy is published, and the admin's extra names (acme.names). A name no public
// CA will sign (localhost, *.localdomain, a single label) is left out with a reason.

export interface NameSettings {
  hostname: string;
  domains: readonly string[];
  mtastsMode: 'none' | 'testing' | 'enforce';
  extra: readonly string[];
}

const PRIVATE_SUFFIX = /(^|\.)(localhost|localdomain|local|invalid|internal|home\.arpa)$/;

export function isPublicName(name: string): boolean {
  return name.includes('.') && !PRIVATE_SUFFIX.test(name);
}

export function certificateNames(s: NameSettings): { names: string[]; skipped: string[] } {
  const wanted = [s.hostname, ...(s.mtastsMode === 'none' ? [] : s.domains.map((d) => `mta-sts.${d}`)), ...s.extra].map((n) => n.toLowerCase().replace(/\.$/, ''));
  const names: string[] = [];
  const skipped: string[] = [];
  for (const n of wanted) {
    if (names.includes(n) || skipped.includes(n)) continue;
    (isPublicName(n) ? names : skipped).push(n);
  }
  return { names, skipped };
}

/** Whether a certificate for `have` covers every name of `want` (no wildcards: ACME here issues exact names). */
export function covers(have: readonly string[], want: readonly string[]): boolean {
  return want.every((n) => have.includes(n));
}
