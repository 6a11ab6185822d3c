// A small authoritative DNS server for tests: UDP and TCP on 127.0.0.1, port 0, the zone given as
// data. It answers A, AAAA, MX (NULL MX too), SRV, TXT (long strings split into 255-byte pieces, RFC 1035
// §3.3.14), CNAME and PTR; missing names get NXDOMAIN, and SERVFAIL or a silent timeout on demand.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server as TcpServer, type Socket } from 'node:net';
import { once } from 'node:events';
import * as packet from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question } from 'dns-packet';

export type FailMode = 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'TIMEOUT';

/** The records of one name. A TXT item that is an array is served as those exact strings. */
export interface ZoneEntry {
  A?: string[];
  AAAA?: string[];
  /** `{ preference: 0, exchange: '.' }` is a NULL MX (RFC 7505). */
  MX?: Array<{ preference: number; exchange: string }>;
  TXT?: Array<string | Buffer | Array<string | Buffer>>;
  CNAME?: string;
  PTR?: string[];
  /** RFC 2782; target '.' says the service is not offered (RFC 6186 §3.4). */
  SRV?: Array<{ priority: number; weight: number; port: number; target: string }>;
  /** Answer every question for a type this entry has no records of with this failure. */
  fail?: FailMode;
  /** Fail only these types (wins over records). */
  failTypes?: Partial<Record<string, FailMode>>;
}

/** Names are matched case-insensitively, without a trailing dot; `*.example.com` is a wildcard. */
export type Zone = Record<string, ZoneEntry>;

export interface DnsServerOptions {
  /** What a name missing from the zone gets; default NXDOMAIN. */
  missing?: (name: string) => FailMode;
  /** Bind address (a 127.0.0.0/8 address); default 127.0.0.1. */
  host?: string;
}

export interface QueryLogEntry {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
}

const MAX_CNAME_CHAIN = 8;

export class TestDnsServer {
  zone: Zone;
  /** What a name missing from the zone gets (see DnsServerOptions.missing); may be replaced. */
  missing: ((name: string) => FailMode) | undefined;
  readonly queries: QueryLogEntry[] = [];
  readonly #options: DnsServerOptions;
  #udp: UdpSocket | null = null;
  #tcp: TcpServer | null = null;
  readonly #sockets = new Set<Socket>();
  #port = 0;
  #host = '127.0.0.1';

  constructor(zone: Zone, options: DnsServerOptions = {}) {
    this.zone = normaliseZone(zone);
    this.#options = options;
    this.missing = options.missing;
  }

  get port(): number {
    return this.#port;
  }

  get host(): string {
    return this.#host;
  }

  /** "127.0.0.1:PORT", the form the `dns.servers` key takes. */
  get address(): string {
    return `${this.#host}:${this.#port}`;
  }

  /** Replace the zone (tests change records between steps). */
  setZone(zone: Zone): void {
    this.zone = normaliseZone(zone);
  }

  async start(): Promise<this> {
    this.#host = this.#options.host ?? '127.0.0.1';
    // UDP first on port 0, then TCP on the same port; retry if another test holds that TCP port.
    for (let attempt = 0; attempt < 20; attempt++) {
      const udp = createSocket('udp4');
      udp.bind(0, this.#host);
      await once(udp, 'listening');
      const port = udp.address().port;
      const tcp = createServer((s) => this.#onTcp(s));
      const ok = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(port, this.#host, () => resolve(true));
      });
      if (!ok) {
        udp.close();
        continue;
      }
      udp.on('message', (msg, rinfo) => this.#onUdp(udp, msg, rinfo.address, rinfo.port));
      this.#udp = udp;
      this.#tcp = tcp;
      this.#port = port;
      return this;
    }
    throw new Error('test DNS server: could not bind UDP and TCP on one port');
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = null;
    this.#tcp = null;
    if (udp) await new Promise<void>((r) => udp.close(() => r()));
    if (tcp) await new Promise<void>((r) => tcp.close(() => r()));
  }

  #onUdp(udp: UdpSocket, msg: Buffer, address: string, port: number): void {
    let query: DecodedPacket;
    try {
      query = packet.decode(msg);
    } catch {
      return; // garbage is dropped, as a real server would
    }
    const response = this.answer(query, 'udp');
    if (!response) return;
    let out = packet.encode(response);
    // RFC 1035 §4.2.1: 512 bytes over UDP unless EDNS (RFC 6891) advertises more; else set TC.
    const opt = (query.additionals ?? []).find((a) => a.type === 'OPT');
    const limit = opt && 'udpPayloadSize' in opt ? Math.min(Math.max(opt.udpPayloadSize, 512), 4096) : 512;
    if (out.length > limit) {
      out = packet.encode({ ...response, flags: (response.flags ?? 0) | packet.TRUNCATED_RESPONSE, answers: [] });
    }
    udp.send(out, port, address);
  }

  #onTcp(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(10_000, () => socket.destroy());
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > 70_000) return socket.destroy(); // one message is at most 65537 bytes
      while (buffer.length >= 2) {
        const len = buffer.readUInt16BE(0);
        if (buffer.length < 2 + len) break;
        const msg = buffer.subarray(2, 2 + len);
        buffer = buffer.subarray(2 + len);
        let query: DecodedPacket;
        try {
          query = packet.decode(msg);
        } catch {
          socket.destroy();
          return;
        }
        const response = this.answer(query, 'tcp');
        if (response) socket.write(packet.streamEncode(response));
      }
    });
  }

  /** Build the response to one query; null means stay silent (a timeout). */
  answer(query: DecodedPacket, transport: 'udp' | 'tcp'): Packet | null {
    const question = query.questions?.[0];
    const base = {
      type: 'response' as const,
      id: query.id ?? 0,
      flags: packet.AUTHORITATIVE_ANSWER | (query.flags ?? 0) & packet.RECURSION_DESIRED,
      questions: question ? [question] : [],
    };
    if (!question) return { ...base, flags: base.flags | rcodeFlag('FORMERR') };
    this.queries.push({ name: question.name, type: question.type, transport });
    const result = this.lookup(question);
    if (result === 'TIMEOUT') return null;
    if (typeof result === 'string') return { ...base, flags: base.flags | rcodeFlag(result) };
    return { ...base, answers: result };
  }

  /** The answers for a question, following CNAMEs inside the zone, or the failure to give. */
  lookup(question: Question): Answer[] | FailMode {
    const answers: Answer[] = [];
    let name = normaliseName(question.name);
    for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
      const entry = this.#find(name);
      if (!entry) {
        if (answers.length > 0) return answers; // dangling CNAME: give what we have
        return this.#hasDescendant(name) ? [] : this.missing?.(name) ?? 'NXDOMAIN';
      }
      const failType = entry.failTypes?.[question.type];
      if (failType) return failType;
      const own = recordsOf(name, entry, question.type);
      if (own.length > 0) return [...answers, ...own];
      if (entry.CNAME !== undefined && question.type !== 'CNAME') {
        answers.push({ type: 'CNAME', name, ttl: 60, data: entry.CNAME });
        name = normaliseName(entry.CNAME);
        continue;
      }
      if (entry.fail) return entry.fail;
      return answers;
    }
    return 'SERVFAIL'; // CNAME loop
  }

  #find(name: string): ZoneEntry | undefined {
    const exact = this.zone[name];
    if (exact) return exact;
    // RFC 4592: a wildcard matches only when no closer name exists.
    if (this.#hasDescendant(name)) return undefined;
    const labels = name.split('.');
    for (let i = 1; i < labels.length; i++) {
      const wild = this.zone['*.' + labels.slice(i).join('.')];
      if (wild) return wild;
      if (this.zone[labels.slice(i).join('.')] || this.#hasDescendant(labels.slice(i).join('.'))) break;
    }
    return undefined;
  }

  /** An empty non-terminal (a name with names below it) exists: NOERROR with no data, not NXDOMAIN. */
  #hasDescendant(name: string): boolean {
    const suffix = '.' + name;
    return Object.keys(this.zone).some((k) => k.endsWith(suffix) && !k.startsWith('*.'));
  }
}

function recordsOf(name: string, entry: ZoneEntry, type: string): Answer[] {
  const ttl = 60;
  switch (type) {
    case 'A':
      return (entry.A ?? []).map((data) => ({ type: 'A', name, ttl, data }));
    case 'AAAA':
      return (entry.AAAA ?? []).map((data) => ({ type: 'AAAA', name, ttl, data }));
    case 'MX':
      return (entry.MX ?? []).map((mx) => ({ type: 'MX', name, ttl, data: { preference: mx.preference, exchange: mx.exchange === '.' ? '' : mx.exchange } }));
    case 'TXT':
      return (entry.TXT ?? []).map((txt) => ({ type: 'TXT', name, ttl, data: Array.isArray(txt) ? txt : splitTxt(txt) }));
    case 'PTR':
      return (entry.PTR ?? []).map((data) => ({ type: 'PTR', name, ttl, data }));
    case 'SRV':
      return (entry.SRV ?? []).map((srv) => ({ type: 'SRV', name, ttl, data: { ...srv, target: srv.target === '.' ? '' : srv.target } }));
    case 'CNAME':
      return entry.CNAME !== undefined ? [{ type: 'CNAME', name, ttl, data: entry.CNAME }] : [];
    default:
      return [];
  }
}

/** RFC 1035 §3.3.14: a character-string holds at most 255 bytes; longer TXT data is several strings. */
export function splitTxt(value: string | Buffer): Buffer[] {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.length === 0) return [Buffer.alloc(0)];
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) parts.push(bytes.subarray(i, i + 255));
  return parts;
}

function normaliseName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function normaliseZone(zone: Zone): Zone {
  const out: Zone = {};
  for (const [name, entry] of Object.entries(zone)) out[normaliseName(name)] = entry;
  return out;
}

const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

function rcodeFlag(rcode: string): number {
  return RCODES[rcode] ?? 2;
}

/** Start a server for one test and stop it in teardown. */
export async function startDnsServer(
  t: { teardown(fn: () => unknown): void },
  zone: Zone,
  options: DnsServerOptions = {},
): Promise<TestDnsServer> {
  const server = await new TestDnsServer(zone, options).start();
  t.teardown(() => server.stop());
  return server;
}
