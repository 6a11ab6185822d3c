// The one DNS resolver of the firmware: delivery (MX, A/AAAA) and the sender checks (SPF, DKIM,
// DMARC, Sender ID) all ask through it, so `dns.servers` and `dns.timeoutMs` hold everywhere.
// Its `resolve(name, rrtype)` has the shape of dns.promises.resolve, which is what mailauth's
// `resolver` option calls.
import { Resolver } from 'node:dns/promises';
import type { MxRecord, SrvRecord } from 'node:dns';
import type { Answer } from 'dns-packet';

export type RecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR' | 'CNAME' | 'NS' | 'SRV';

export interface DnsOptions {
  /** IP[:port] entries; empty means the system resolver's servers. */
  servers: readonly string[];
  /** Bound on one lookup, retries included. */
  timeoutMs: number;
  tries?: number;
}

/** Codes (node:dns names) that say the answer is final: the name or the record does not exist. */
const PERMANENT = new Set(['ENOTFOUND', 'ENODATA', 'EBADNAME', 'EFORMERR', 'ENOTIMP']);

/** A failed lookup. `code` keeps the node:dns name (mailauth reads it); `permanent` is what callers act on. */
export class DnsError extends Error {
  readonly code: string;
  readonly permanent: boolean;
  override readonly name = 'DnsError';

  constructor(code: string, hostname: string, rrtype: string) {
    const permanent = PERMANENT.has(code);
    super(`${rrtype} lookup of ${hostname} failed: ${describe(code)}`);
    this.code = code;
    this.permanent = permanent;
  }
}

function describe(code: string): string {
  switch (code) {
    case 'ENOTFOUND': return 'no such domain (NXDOMAIN)';
    case 'ENODATA': return 'no record of that type';
    case 'ETIMEOUT': return 'timed out';
    case 'ESERVFAIL': return 'server failure (SERVFAIL)';
    case 'EREFUSED': return 'query refused';
    case 'ECONNREFUSED': return 'DNS server unreachable';
    default: return code;
  }
}

/** What a lookup returns, as dns.promises.resolve returns it. */
export type ResolveAnswer = string[] | string[][] | MxRecord[] | SrvRecord[];

export interface DnsResolver {
  /** dns.promises.resolve-compatible: A/AAAA/PTR/CNAME/NS → string[], TXT → string[][], MX → MxRecord[]. */
  resolve(name: string, rrtype: string): Promise<ResolveAnswer>;
  resolveTxt(name: string): Promise<string[][]>;
  resolveMx(name: string): Promise<MxRecord[]>;
  resolveAddresses(name: string, family: 4 | 6): Promise<string[]>;
  /** The servers asked, for diagnostics ("system" when empty). */
  readonly servers: readonly string[];
}

export function createResolver(options: DnsOptions): DnsResolver {
  const tries = options.tries ?? 2;
  // c-ares's timeout is per try and grows; the overall bound below is what callers rely on.
  const perTry = Math.max(50, Math.floor(options.timeoutMs / (tries + 1)));
  const resolver = new Resolver({ timeout: perTry, tries });
  if (options.servers.length > 0) resolver.setServers([...options.servers]);

  async function resolve(name: string, rrtype: string): Promise<ResolveAnswer> {
    const type = rrtype.toUpperCase();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DnsError('ETIMEOUT', name, type)), options.timeoutMs);
    });
    try {
      return await Promise.race([query(resolver, name, type), deadline]);
    } catch (err) {
      if (err instanceof DnsError) throw err;
      const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'ESERVFAIL';
      // c-ares refuses octets RFC 2181 §11 allows (':', '/', '%', space); ask directly instead.
      if (code === 'EBADNAME' && isWireName(name)) return await Promise.race([direct(name, type), deadline]);
      throw new DnsError(code, name, type);
    } finally {
      clearTimeout(timer);
    }
  }

  async function direct(name: string, type: string): Promise<ResolveAnswer> {
    // dns-packet is loaded for the first such name only: most boards never see one.
    const { parseServer, rawQuery } = await import('./raw-query.ts');
    const server = parseServer(resolver.getServers()[0] ?? '127.0.0.1');
    const res = await rawQuery(server, name, type, options.timeoutMs);
    const rcodeError: Record<string, string> = { NXDOMAIN: 'ENOTFOUND', SERVFAIL: 'ESERVFAIL', REFUSED: 'EREFUSED', NOTIMP: 'ENOTIMP', FORMERR: 'EFORMERR' };
    if (rcodeError[res.rcode]) throw new DnsError(rcodeError[res.rcode]!, name, type);
    const answers = fromPacket(res.answers, type);
    if (answers.length === 0) throw new DnsError('ENODATA', name, type);
    return answers;
  }

  return {
    servers: options.servers.length > 0 ? [...options.servers] : ['system'],
    resolve,
    resolveTxt: async (name) => (await resolve(name, 'TXT')) as string[][],
    resolveMx: async (name) => (await resolve(name, 'MX')) as MxRecord[],
    resolveAddresses: async (name, family) => (await resolve(name, family === 4 ? 'A' : 'AAAA')) as string[],
  };
}

function query(resolver: Resolver, name: string, type: string): Promise<ResolveAnswer> {
  switch (type) {
    case 'A': return resolver.resolve4(name);
    case 'AAAA': return resolver.resolve6(name);
    case 'MX': return resolver.resolveMx(name);
    case 'TXT': return resolver.resolveTxt(name);
    case 'PTR': return resolver.resolvePtr(name);
    case 'CNAME': return resolver.resolveCname(name);
    case 'NS': return resolver.resolveNs(name);
    case 'SRV': return resolver.resolveSrv(name);
    default: return Promise.reject(Object.assign(new Error(`unsupported record type ${type}`), { code: 'ENOTIMP' }));
  }
}

/** Labels of 1–63 octets, 255 in all (RFC 1035 §2.3.4); any octet otherwise (RFC 2181 §11). */
function isWireName(name: string): boolean {
  const labels = name.replace(/\.$/, '').split('.');
  return Buffer.byteLength(name) <= 253 && labels.every((l) => l.length > 0 && Buffer.byteLength(l) <= 63);
}

/** Answers of a raw query in the shapes node:dns gives. */
function fromPacket(answers: readonly Answer[], type: string): ResolveAnswer {
  const own = answers.filter((a) => a.type === type);
  switch (type) {
    case 'TXT':
      return own.map((a) => ([] as Array<string | Buffer>).concat((a as { data: string | Buffer | Array<string | Buffer> }).data).map((d) => d.toString()));
    case 'MX':
      return own.map((a) => {
        const d = (a as { data: { preference?: number; exchange: string } }).data;
        return { priority: d.preference ?? 0, exchange: d.exchange };
      });
    case 'SRV':
      return own.map((a) => {
        const d = (a as { data: { priority?: number; weight?: number; port?: number; target: string } }).data;
        return { priority: d.priority ?? 0, weight: d.weight ?? 0, port: d.port ?? 0, name: d.target };
      });
    default:
      return own.map((a) => String((a as { data: unknown }).data));
  }
}

/** Settings as the config store holds them. */
export interface DnsSettings {
  get(key: 'dns.servers'): string[];
  get(key: 'dns.timeoutMs'): number;
  get(key: 'dns.tries'): number;
}

// One resolver while the settings stay the same: each is a c-ares channel (~60 us to make here),
// and the sender checks, the DNSBL and every outbound hop asked for one per message.
let shared: { key: string; resolver: DnsResolver } | undefined;

/** The resolver configured by `dns.servers`, `dns.timeoutMs`, `dns.tries` (made anew when they change). */
export function resolverFromSettings(store: DnsSettings): DnsResolver {
  const options = { servers: store.get('dns.servers'), timeoutMs: store.get('dns.timeoutMs'), tries: store.get('dns.tries') };
  const key = JSON.stringify(options);
  if (shared?.key !== key) shared = { key, resolver: createResolver(options) };
  return shared.resolver;
}

/** Parse a `--dns HOST:PORT` option into a resolver (diagnostics). */
export function resolverFor(server: string | undefined, timeoutMs = 5000): DnsResolver {
  return createResolver({ servers: server ? [server] : [], timeoutMs });
}
