// Our trace header (RFC 5321 §4.4), with the TLS and authentication facts an admin looks for.
// Protocol names per RFC 3848: ESMTP, ESMTPS (TLS), ESMTPA (AUTH), ESMTPSA (both).
export interface ReceivedFacts {
  helo: string;
  clientAddress: string;
  clientHostname: string;
  byHost: string;
  queueId: string;
  tls: { protocol: string; cipher: string } | null;
  user: string | null;
  rcpt: string | null;
  date: Date;
}

export function receivedHeader(f: ReceivedFacts): string {
  const proto = 'ESMTP' + (f.tls ? 'S' : '') + (f.user ? 'A' : '');
  const from = `from ${clean(f.helo) || 'unknown'} (${clean(f.clientHostname) || 'unknown'} [${f.clientAddress}])`;
  const tls = f.tls ? `\r\n\t(using ${clean(f.tls.protocol)} with cipher ${clean(f.tls.cipher)})` : '';
  const auth = f.user ? `\r\n\t(Authenticated sender: ${clean(f.user)})` : '';
  const rcpt = f.rcpt ? `\r\n\tfor <${clean(f.rcpt)}>` : '';
  return `Received: ${from}${tls}${auth}\r\n\tby ${f.byHost} (Yubin) with ${proto} id ${f.queueId}${rcpt};\r\n\t${f.date.toUTCString().replace('GMT', '+0000')}`;
}

/** Client-supplied text goes into a header: keep it to printable ASCII without parentheses games. */
function clean(text: string): string {
  return text.replace(/[^\x21-\x7e]/g, '?').replace(/[()]/g, '?').slice(0, 255);
}
