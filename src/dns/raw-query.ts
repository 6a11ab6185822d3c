// A minimal stub query (RFC 1035 §4.2: UDP, then TCP when the answer is truncated) for names that
// c-ares refuses to send: RFC 2181 §11 allows any octet in a label, and SPF macros (RFC 7208 §7)
// can expand to names with ':', '/', '%' or spaces. Everything else goes through c-ares.
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { randomInt } from 'node:crypto';
import * as packet from 'dns-packet';
import type { Answer, RecordType as PacketType } from 'dns-packet';

export interface RawServer {
  host: string;
  port: number;
}

export interface RawAnswer {
  rcode: string;
  answers: Answer[];
}

/** "192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:53", "2001:db8::1" → host and port. */
export function parseServer(text: string): RawServer {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: Number(bracketed[2] ?? 53) };
  if (isIPv6(text)) return { host: text, port: 53 };
  const [host, port] = text.split(':');
  return { host: host ?? text, port: Number(port ?? 53) };
}

const MAX_TCP_RESPONSE = 65_537;

export async function rawQuery(server: RawServer, name: string, type: string, timeoutMs: number): Promise<RawAnswer> {
  const query = { type: 'query' as const, id: randomInt(0, 65536), flags: packet.RECURSION_DESIRED, questions: [{ type: type as PacketType, name }] };
  const udp = await udpExchange(server, packet.encode(query), query.id, timeoutMs);
  const res = udp.flag_tc ? await tcpExchange(server, packet.streamEncode(query), query.id, timeoutMs) : udp;
  return { rcode: (res as { rcode?: string }).rcode ?? 'NOERROR', answers: res.answers ?? [] };
}

function udpExchange(server: RawServer, msg: Buffer, id: number, timeoutMs: number): Promise<packet.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => done(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })), timeoutMs);
    function done(err: Error | null, value?: packet.DecodedPacket) {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(value!);
    }
    sock.on('error', (err) => done(Object.assign(err, { code: 'ECONNREFUSED' })));
    sock.on('message', (data, rinfo) => {
      // Only the server we asked, with our id, may answer (RFC 5452 §9.1 basics).
      if (rinfo.port !== server.port) return;
      try {
        const res = packet.decode(data);
        if (res.id === id) done(null, res);
      } catch {
        // not a DNS message: keep waiting
      }
    });
    sock.send(msg, server.port, server.host);
  });
}

function tcpExchange(server: RawServer, msg: Buffer, id: number, timeoutMs: number): Promise<packet.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(Object.assign(new Error('timeout'), { code: 'ETIMEOUT' })), timeoutMs);
    function done(err: Error | null, value?: packet.DecodedPacket) {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value!);
    }
    sock.on('error', (err) => done(Object.assign(err, { code: 'ECONNREFUSED' })));
    sock.on('connect', () => sock.write(msg));
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_TCP_RESPONSE) return done(Object.assign(new Error('response too large'), { code: 'EBADRESP' }));
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        try {
          const res = packet.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          if (res.id !== id) return done(Object.assign(new Error('wrong id'), { code: 'EBADRESP' }));
          done(null, res);
        } catch {
          done(Object.assign(new Error('malformed response'), { code: 'EBADRESP' }));
        }
      }
    });
  });
}
