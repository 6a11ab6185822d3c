// What TLS-RPT (RFC 8460 §4) reports: per UTC day, per recipient domain and the policy applied
// to it, the sessions that succeeded and those that failed, failures grouped by result type,
// sending and receiving address, MX name. Counted in memory and written to DATA/tlsrpt/DAY.json
// (durably, a few seconds after the last change, and at stop); a crash may lose those seconds of
// counts, never a message.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../files/durable.ts';

/** RFC 8460 §4.4 policy-type with what identifies the policy. */
export interface ReportPolicy {
  type: 'sts' | 'tlsa' | 'no-policy-found';
  domain: string;
  /** The policy text, one line an item (sts), or the TLSA records. */
  strings?: string[];
  /** The MX patterns of an STS policy. */
  mxHost?: string[];
}

/** RFC 8460 §4.3: result types. */
export type ResultType =
  | 'starttls-not-supported' | 'certificate-host-mismatch' | 'certificate-expired' | 'certificate-not-trusted' | 'validation-failure'
  | 'tlsa-invalid' | 'dnssec-invalid' | 'dane-required'
  | 'sts-policy-fetch-error' | 'sts-policy-invalid' | 'sts-webpki-invalid';

export interface Failure {
  type: ResultType;
  sendingIp?: string;
  receivingMx?: string;
  receivingIp?: string;
  /** Free text for the receiving domain's admin (failure-reason-code). */
  reason?: string;
}

export interface DayRecord {
  day: string;
  domains: Record<string, {
    policy: ReportPolicy;
    success: number;
    failures: Array<Failure & { count: number }>;
  }>;
}

const FLUSH_MS = 5000;
/** Distinct failure rows per domain and day (an attacker's many addresses cannot grow it for ever). */
const MAX_FAILURE_ROWS = 100;

export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export class TlsReportRecorder {
  readonly dir: string;
  #days = new Map<string, DayRecord>();
  #dirty = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  readonly #enabled: () => boolean;

  constructor(dataDir: string, enabled: () => boolean = () => true) {
    this.dir = join(dataDir, 'tlsrpt');
    this.#enabled = enabled;
  }

  async #day(day: string): Promise<DayRecord> {
    let r = this.#days.get(day);
    if (r) return r;
    try {
      r = JSON.parse(await readFile(join(this.dir, `${day}.json`), 'utf8')) as DayRecord;
    } catch {
      r = { day, domains: {} };
    }
    // Another caller may have loaded it meanwhile: keep the first.
    const again = this.#days.get(day);
    if (again) return again;
    this.#days.set(day, r);
    for (const old of this.#days.keys()) if (old < dayOf(Date.now() - 2 * 86_400_000)) this.#days.delete(old);
    return r;
  }

  /** Count one session for `policy.domain`: a success, or a failure of this kind. */
  async record(policy: ReportPolicy, failure: Failure | null, now = Date.now()): Promise<void> {
    if (!this.#enabled()) return;
    const day = dayOf(now);
    const r = await this.#day(day);
    const d = (r.domains[policy.domain] ??= { policy, success: 0, failures: [] });
    // The policy of the day is the last one applied (a change mid-day starts counting under it).
    d.policy = policy;
    if (!failure) d.success += 1;
    else {
      const same = d.failures.find((f) => f.type === failure.type && f.receivingMx === failure.receivingMx && f.receivingIp === failure.receivingIp && f.reason === failure.reason);
      if (same) same.count += 1;
      else if (d.failures.length < MAX_FAILURE_ROWS) d.failures.push({ ...failure, count: 1 });
      else d.failures[d.failures.length - 1]!.count += 1;
    }
    this.#dirty.add(day);
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
    this.#timer.unref?.();
  }

  /** Write what changed now (also at stop). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const days = [...this.#dirty];
    this.#dirty.clear();
    for (const day of days) {
      const text = JSON.stringify(this.#days.get(day)) + '\n';
      this.#writing = this.#writing.then(() => writeFileDurable(join(this.dir, `${day}.json`), text, 0o600)).catch(() => undefined);
    }
    await this.#writing;
  }

  /** The record of a day as on disk after a flush (what a report is made from). */
  async read(day: string): Promise<DayRecord | null> {
    await this.flush();
    const r = this.#days.get(day);
    if (r) return r;
    try {
      return JSON.parse(await readFile(join(this.dir, `${day}.json`), 'utf8')) as DayRecord;
    } catch {
      return null;
    }
  }

  async recordedDays(): Promise<string[]> {
    await this.flush();
    try {
      return (await readdir(this.dir)).filter((f) => /^\d{4}-\d\d-\d\d\.json$/.test(f)).map((f) => f.slice(0, 10)).sort();
    } catch {
      return [];
    }
  }
}

/** RFC 8460 §4.3 result type for a failed certificate check, from Node's verification error. */
export function certificateFailure(error: string | undefined): ResultType {
  const e = error ?? '';
  if (/altnames|Hostname\/IP does not match|ERR_TLS_CERT_ALTNAME_INVALID/i.test(e)) return 'certificate-host-mismatch';
  if (/expired|CERT_HAS_EXPIRED/i.test(e)) return 'certificate-expired';
  if (/self[- ]signed|unable to (get|verify)|not trusted|UNABLE_TO|SELF_SIGNED|DEPTH_ZERO/i.test(e)) return 'certificate-not-trusted';
  return 'validation-failure';
}
