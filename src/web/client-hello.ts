// What a TLS ClientHello asks for before we answer it: the server name (SNI, RFC 6066 §3) and the
// ALPN protocols (RFC 7301 §3.1). The HTTPS listener reads them to tell an ACME TLS-ALPN-01
// validation (RFC 8737: ALPN "acme-tls/1" only) from an ordinary visitor, because the certificate
// must be chosen by ALPN, which Node's SNICallback does not see. Untrusted bytes: every length is
// checked against what is there; anything malformed is "not a ClientHello we understand".

export interface ClientHello {
  serverName: string | null;
  alpn: string[];
}

export type HelloRead =
  /** The first TLS record is not complete yet: wait for this many bytes in all. */
  | { kind: 'more'; need: number }
  | { kind: 'hello'; hello: ClientHello }
  /** Not TLS, or not a ClientHello we can read: let the TLS stack answer it as it will. */
  | { kind: 'other' };

/** The largest first record we wait for (TLS caps a record at 2^14 bytes of payload). */
export const MAX_HELLO_RECORD = 5 + 16384;

export function readClientHello(buf: Buffer): HelloRead {
  if (buf.length < 5) return { kind: 'more', need: 5 };
  if (buf[0] !== 22 || buf[1] !== 3) return { kind: 'other' }; // handshake record, TLS 1.x
  const length = buf.readUInt16BE(3);
  if (length > 16384) return { kind: 'other' };
  if (buf.length < 5 + length) return { kind: 'more', need: 5 + length };
  const body = buf.subarray(5, 5 + length);
  try {
    return parseHandshake(body);
  } catch {
    return { kind: 'other' };
  }
}

function parseHandshake(b: Buffer): HelloRead {
  if (b[0] !== 1) return { kind: 'other' }; // client_hello
  const helloLength = (b[1]! << 16) | (b[2]! << 8) | b[3]!;
  // A ClientHello split over several records is legal but never done by ACME validators.
  if (4 + helloLength > b.length) return { kind: 'other' };
  let p = 4 + 2 + 32; // version, random
  const need = (n: number) => {
    if (p + n > 4 + helloLength) throw new RangeError('truncated');
  };
  need(1);
  p += 1 + b[p]!; // session id
  need(2);
  p += 2 + b.readUInt16BE(p); // cipher suites
  need(1);
  p += 1 + b[p]!; // compression methods
  const hello: ClientHello = { serverName: null, alpn: [] };
  if (p === 4 + helloLength) return { kind: 'hello', hello };
  need(2);
  const end = p + 2 + b.readUInt16BE(p);
  p += 2;
  if (end > 4 + helloLength) throw new RangeError('extensions overrun');
  while (p + 4 <= end) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const data = b.subarray(p + 4, p + 4 + len);
    if (data.length !== len) throw new RangeError('extension overrun');
    if (type === 0) hello.serverName = serverName(data);
    if (type === 16) hello.alpn = protocols(data);
    p += 4 + len;
  }
  return { kind: 'hello', hello };
}

function serverName(d: Buffer): string | null {
  let p = 2; // list length
  while (p + 3 <= d.length) {
    const type = d[p]!;
    const len = d.readUInt16BE(p + 1);
    const name = d.subarray(p + 3, p + 3 + len);
    if (type === 0 && name.length === len) return name.toString('latin1').toLowerCase().replace(/\.$/, '');
    p += 3 + len;
  }
  return null;
}

function protocols(d: Buffer): string[] {
  const out: string[] = [];
  let p = 2; // list length
  while (p < d.length) {
    const len = d[p]!;
    const name = d.subarray(p + 1, p + 1 + len);
    if (name.length !== len) break;
    out.push(name.toString('latin1'));
    p += 1 + len;
  }
  return out;
}
