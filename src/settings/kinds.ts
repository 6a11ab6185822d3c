// Value kinds for configuration keys. Each kind parses the text an admin types (CLI, console)
// and checks a value from the file; both fail with a message naming the allowed values.
import { isIP } from 'node:net';

export interface Kind<T> {
  /** Human description of what is allowed, used in every error message. */
  readonly allowed: string;
  /** Parse text typed by an admin. Throws Error(allowed) on bad input. */
  parse(text: string): T;
  /** Check a value read from the config file; returns null when fine, else what is wrong. */
  check(value: unknown): string | null;
}

/**
 * When a committed change takes effect: `live`, in the running firmware within a moment (each
 * station reads it at use, or re-applies it on config.changed); `restart`, at the next start only
 * (console `restart`, or a restart of the service). zigbee2mqtt's settings say the same.
 */
export type Applies = 'live' | 'restart';

export interface Setting<T> {
  readonly kind: Kind<T>;
  readonly default: T;
  readonly applies: Applies;
  readonly doc: string;
}

export function setting<T>(kind: Kind<T>, defaultValue: T, applies: Applies, doc: string): Setting<T> {
  return { kind, default: defaultValue, applies, doc };
}

export function int(min: number, max: number): Kind<number> {
  const allowed = `an integer from ${min} to ${max}`;
  const check = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? null : allowed);
  return {
    allowed,
    check,
    parse(text) {
      const t = text.trim();
      // Accept size suffixes an admin naturally types: 25M, 512K, 1G.
      const m = /^(-?\d+)([kKmMgG]?)$/.exec(t);
      if (!m) throw new Error(allowed);
      const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1;
      const n = Number(m[1]) * mult;
      if (check(n) !== null) throw new Error(allowed);
      return n;
    },
  };
}

export const bool: Kind<boolean> = {
  allowed: 'true or false',
  check: (v) => (typeof v === 'boolean' ? null : 'true or false'),
  parse(text) {
    const t = text.trim().toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(t)) return true;
    if (['false', 'no', 'off', '0'].includes(t)) return false;
    throw new Error('true or false');
  },
};

export function oneOf<T extends string>(...values: T[]): Kind<T> {
  const allowed = `one of ${values.join(', ')}`;
  return {
    allowed,
    check: (v) => (typeof v === 'string' && (values as string[]).includes(v) ? null : allowed),
    parse(text) {
      const t = text.trim();
      if (!(values as string[]).includes(t)) throw new Error(allowed);
      return t as T;
    },
  };
}

export function text(pattern: RegExp = /^[^\0\r\n]*$/, allowed = 'a single line of text'): Kind<string> {
  return {
    allowed,
    check: (v) => (typeof v === 'string' && pattern.test(v) ? null : allowed),
    parse(t) {
      const v = t.trim();
      if (!pattern.test(v)) throw new Error(allowed);
      return v;
    },
  };
}

/** A comma- or space-separated list, each item checked by `item`. */
export function list<T>(item: Kind<T>): Kind<T[]> {
  const allowed = `a comma-separated list, each ${item.allowed}`;
  return {
    allowed,
    check(v) {
      if (!Array.isArray(v)) return allowed;
      for (const x of v) if (item.check(x) !== null) return `${allowed} (bad item ${JSON.stringify(x)})`;
      return null;
    },
    parse(t) {
      const parts = t.split(/[\s,]+/).filter((p) => p.length > 0);
      return parts.map((p) => {
        try {
          return item.parse(p);
        } catch {
          throw new Error(`${allowed} (bad item ${JSON.stringify(p)})`);
        }
      });
    },
  };
}

const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A DNS domain name, stored lower-case without a trailing dot. */
export const domain: Kind<string> = {
  allowed: 'a domain name such as example.com',
  check: (v) => (typeof v === 'string' && DOMAIN_RE.test(v) ? null : 'a domain name such as example.com'),
  parse(t) {
    const v = t.trim().toLowerCase().replace(/\.$/, '');
    if (!DOMAIN_RE.test(v)) throw new Error('a domain name such as example.com');
    return v;
  },
};

export function isCidr(v: string): boolean {
  const [addr, bits, extra] = v.split('/');
  if (extra !== undefined || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

export const cidr: Kind<string> = {
  allowed: 'an IPv4 or IPv6 address or CIDR block such as 192.168.1.0/24',
  check: (v) => (typeof v === 'string' && isCidr(v) ? null : 'an IPv4 or IPv6 address or CIDR block such as 192.168.1.0/24'),
  parse(t) {
    const v = t.trim();
    if (!isCidr(v)) throw new Error('an IPv4 or IPv6 address or CIDR block such as 192.168.1.0/24');
    return v;
  },
};

export const hostPort: Kind<string> = text(
  /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/,
  'host or host:port, e.g. 192.0.2.1:53 or [2001:db8::1]:53',
);

export const port = int(0, 65535);
export const path = text(/^[^\0\r\n]*$/, 'a file path');

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A duration in seconds, typed as 90, 30s, 15m, 2h, 14d or 1w. */
export function duration(min: number, max: number): Kind<number> {
  const allowed = `a duration from ${min} to ${max} seconds, e.g. 30s, 15m, 2h, 14d`;
  const check = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? null : allowed);
  return {
    allowed,
    check,
    parse(text) {
      const m = /^(\d+)\s*([smhdw]?)$/i.exec(text.trim());
      if (!m) throw new Error(allowed);
      const n = Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] ?? 1);
      if (check(n) !== null) throw new Error(allowed);
      return n;
    },
  };
}
