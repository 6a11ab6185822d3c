// DNS dynamic update (RFC 2136) of TXT records, signed with TSIG (RFC 8945), over TCP: what the
// DNS-01 challenge needs from the office's primary DNS server (BIND, Knot, PowerDNS…). Written by
// hand: dns-packet has no class NONE (RFC 2136 §2.5.4 deletes an RR with it) and no TSIG signer,
// and the messages are small and fixed in shape. The server's signed answer is checked too.
import { createHmac, randomInt } from 'node:crypto';
import { connect } from 'node:net';

export interface UpdateServer {
  host: string;
  port: number;
  zone: string;
  tsig?: { name: string; algorithm: 'hmac-sha256' | 'hmac-sha512' | 'hmac-sha1'; secret: string };
  timeoutMs?: number;
}

const TYPE_TXT = 16;
const TYPE_SOA = 6;
const TYPE_TSIG = 250;
const CLASS_IN = 1;
const CLASS_NONE = 254;
const CLASS_ANY = 255;
const OPCODE_UPDATE = 5;
const FUDGE = 300;

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const TSIG_ERRORS: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };

function name(n: string): Buffer {
  const labels = n.toLowerCase().replace(/\.$/, '').split('.').filter((l) => l !== '');
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l)]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
}

function txtRdata(value: string): Buffer {
  const v = Buffer.from(value, 'utf8');
  if (v.length > 255) throw new Error('TXT value longer than 255 bytes');
  return Buffer.concat([Buffer.from([v.length]), v]);
}

function rr(owner: string, type: number, klass: number, ttl: number, rdata: Buffer): Buffer {
  return Buffer.concat([name(owner), u16(type), u16(klass), u32(ttl), u16(rdata.length), rdata]);
}

/** The TSIG variables of §4.3.3 after the message (and the request MAC for a response). */
function tsigVariables(t: NonNullable<UpdateServer['tsig']>, time: number, error: number, other: Buffer): Buffer {
  return Buffer.concat([name(t.name), u16(CLASS_ANY), u32(0), name(t.algorithm), u48(time), u16(FUDGE), u16(error), u16(other.length), other]);
}

function mac(t: NonNullable<UpdateServer['tsig']>, data: Buffer): Buffer {
  return createHmac(t.algorithm.slice(5), Buffer.from(t.secret, 'base64')).update(data).digest();
}

function sign(message: Buffer, t: NonNullable<UpdateServer['tsig']>, id: number): { signed: Buffer; mac: Buffer } {
  const time = Math.floor(Date.now() / 1000);
  const digest = mac(t, Buffer.concat([message, tsigVariables(t, time, 0, Buffer.alloc(0))]));
  const rdata = Buffer.concat([name(t.algorithm), u48(time), u16(FUDGE), u16(digest.length), digest, u16(id), u16(0), u16(0)]);
  const signed = Buffer.concat([message, rr(t.name, TYPE_TSIG, CLASS_ANY, 0, rdata)]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10); // ARCOUNT
  return { signed, mac: digest };
}

/** Offset just past a (possibly compressed) name at `p`. */
function skipName(b: Buffer, p: number): number {
  for (;;) {
    const len = b[p];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) return p + 2;
    p += 1 + len;
  }
}

/** rcode and, when signed, whether the TSIG of the answer checks out against our request MAC. */
function readAnswer(b: Buffer, t: UpdateServer['tsig'], requestMac: Buffer | null): { rcode: string; tsigError?: string } {
  if (b.length < 12) throw new Error('answer shorter than a DNS header');
  const rcode = RCODES[b[3]! & 0x0f] ?? `RCODE${b[3]! & 0x0f}`;
  const counts = [b.readUInt16BE(4), b.readUInt16BE(6), b.readUInt16BE(8), b.readUInt16BE(10)];
  let p = 12;
  for (let i = 0; i < counts[0]!; i++) p = skipName(b, p) + 4;
  const records = counts[1]! + counts[2]! + counts[3]!;
  let tsigAt = -1;
  for (let i = 0; i < records; i++) {
    const start = p;
    p = skipName(b, p);
    const type = b.readUInt16BE(p);
    const rdlength = b.readUInt16BE(p + 8);
    if (type === TYPE_TSIG && i === records - 1) tsigAt = start;
    p += 10 + rdlength;
  }
  if (!t) return { rcode };
  if (tsigAt < 0) return { rcode, tsigError: 'the answer is not signed' };
  // TSIG RDATA: algorithm, time(6), fudge(2), mac size(2), mac, original id(2), error(2), other len(2), other.
  let q = skipName(b, tsigAt) + 10;
  q = skipName(b, q);
  const time = b.readUIntBE(q, 6);
  const macSize = b.readUInt16BE(q + 8);
  const theirs = b.subarray(q + 10, q + 10 + macSize);
  const error = b.readUInt16BE(q + 12 + macSize);
  const otherLen = b.readUInt16BE(q + 14 + macSize);
  const other = b.subarray(q + 16 + macSize, q + 16 + macSize + otherLen);
  if (error !== 0) return { rcode, tsigError: TSIG_ERRORS[error] ?? `TSIG error ${error}` };
  const unsigned = Buffer.from(b.subarray(0, tsigAt));
  unsigned.writeUInt16BE(counts[3]! - 1, 10);
  const ours = mac(t, Buffer.concat([u16(requestMac!.length), requestMac!, unsigned, tsigVariables(t, time, error, other)]));
  if (!ours.equals(theirs)) return { rcode, tsigError: 'the answer\'s TSIG signature does not verify' };
  if (Math.abs(Date.now() / 1000 - time) > FUDGE) return { rcode, tsigError: 'the answer\'s TSIG time is off by more than 5 minutes' };
  return { rcode };
}

function exchange(server: UpdateServer, message: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${server.host}:${server.port} within ${(server.timeoutMs ?? 10_000) / 1000} s`));
    }, server.timeoutMs ?? 10_000);
    socket.on('connect', () => socket.write(Buffer.concat([u16(message.length), message])));
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length > 65_537) socket.destroy();
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.end();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${server.host}:${server.port}: ${err.message}`));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`${server.host}:${server.port} closed the connection without an answer`));
    });
  });
}

/** Add (or delete) one TXT record at `owner` in the server's zone; throws with the server's reason. */
export async function updateTxt(server: UpdateServer, action: 'add' | 'delete', owner: string, value: string, ttl = 60): Promise<void> {
  const id = randomInt(0, 65536);
  const header = Buffer.concat([u16(id), u16(OPCODE_UPDATE << 11), u16(1), u16(0), u16(1), u16(0)]);
  const zone = Buffer.concat([name(server.zone), u16(TYPE_SOA), u16(CLASS_IN)]);
  const update = action === 'add' ? rr(owner, TYPE_TXT, CLASS_IN, ttl, txtRdata(value)) : rr(owner, TYPE_TXT, CLASS_NONE, 0, txtRdata(value));
  const message = Buffer.concat([header, zone, update]);
  const { signed, mac: requestMac } = server.tsig ? sign(message, server.tsig, id) : { signed: message, mac: null };
  const answer = await exchange(server, signed);
  if (answer.readUInt16BE(0) !== id) throw new Error('the answer is for another message (ID mismatch)');
  const { rcode, tsigError } = readAnswer(answer, server.tsig, requestMac);
  if (tsigError) throw new Error(`${action} of ${owner} TXT: ${tsigError} (rcode ${rcode})`);
  if (rcode !== 'NOERROR') throw new Error(`${action} of ${owner} TXT refused by ${server.host}:${server.port}: ${rcode}${rcode === 'NOTAUTH' || rcode === 'REFUSED' ? ' (check the TSIG key and the zone\'s update policy)' : ''}`);
}
