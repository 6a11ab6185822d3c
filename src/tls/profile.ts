// How every TLS listener speaks TLS: SMTP 25/587 (STARTTLS) and 465, POP3 110 (STLS) and 995.
// One profile, so a port cannot drift from the others. It is Mozilla's "intermediate" configuration
// (Server Side TLS guidelines 5.7, https://ssl-config.mozilla.org/guidelines/5.7.json), tightened
// where the comments say; test/tls/ checks it with openssl and testssl.sh on every listener.
import { constants } from 'node:crypto';
import type { SecureContextOptions } from 'node:tls';
import type { TlsFiles } from './certificate.ts';

// TLS 1.3 suites first, then TLS 1.2 in Mozilla's order: ECDHE only, AEAD only. Mozilla's DHE-RSA
// suites are left out: ECDHE reaches every client that DHE does here, and no DH parameters to keep.
// ECDSA suites stay for an admin's own EC certificate (tls.cert); the self-signed one is RSA.
const CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

// Mozilla's curves; the post-quantum hybrid that Node 24's OpenSSL 3.5 prefers by default stays in front.
const GROUPS = ['X25519MLKEM768', 'X25519', 'P-256', 'P-384'];

export const TLS_PROFILE = {
  // TLS 1.0 and 1.1 are gone from every client that Mozilla's intermediate profile still serves.
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: CIPHERS.join(':'),
  ecdhCurve: GROUPS.join(':'),
  // Mozilla lets the client choose; we choose, so a client's odd preference cannot pick a weaker
  // suite, and testssl.sh rates a missing server order HIGH.
  honorCipherOrder: true,
  // A client-initiated renegotiation costs the board a full handshake for one packet (a DoS lever):
  // OpenSSL answers it with a no_renegotiation alert. TLS 1.3 has no renegotiation at all.
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
} as const satisfies SecureContextOptions;

/** Options for tls.createSecureContext, or a server that makes one: the profile with our certificate. */
export function tlsServerOptions(files: TlsFiles): SecureContextOptions {
  return { ...TLS_PROFILE, cert: files.cert, key: files.key };
}
