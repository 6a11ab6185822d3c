// Structured mail for the MIME inspection and the SMTP sessions: a message is a spec (what to
// build) rendered to bytes, so fast-check shrinks the spec (fewer parts, a shorter header) and the
// counterexample prints small. Specs cover huge and many headers, long folded ones, deep
// multipart nesting, many parts, broken/missing/duplicate boundaries, bad transfer encodings and
// charsets, message/rfc822 in message/rfc822, zips (bombs, nested, encrypted), programs, encrypted
// PDF/Office/PGP markers, 8-bit and NUL bytes, bare CR and LF.
import fc from 'fast-check';
import { zipSpec, renderZip, PROGRAM_BYTES, fileName, type ZipSpec } from './zip.ts';

export type HeaderSpec =
  | { kind: 'plain'; name: string; value: string }
  /** One field of `size` octets (e.g. X-Long: 100,000 octets on one line). */
  | { kind: 'huge'; name: string; size: number }
  /** `count` short fields. */
  | { kind: 'many'; count: number }
  /** One field folded over `lines` continuation lines of `width` octets. */
  | { kind: 'folded'; lines: number; width: number }
  /** Any bytes (8-bit, NUL, bare CR or LF, no colon). */
  | { kind: 'raw'; bytes: Uint8Array }
  | { kind: 'dkim' };

export type Payload =
  | { kind: 'text'; line: string; count: number }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'zip'; zip: ZipSpec }
  | { kind: 'program' }
  | { kind: 'pdf'; encrypted: boolean }
  | { kind: 'office'; encrypted: boolean }
  | { kind: 'pgp' }
  /** Decoded size beyond the inspection's in-memory budget: scratch files get made. */
  | { kind: 'big'; size: number };

export type Encoding = '7bit' | '8bit' | 'binary' | 'base64' | 'quoted-printable' | 'x-uuencode' | 'BASE64' | 'base64; x=y' | '';
/** How the payload is written: encoded as declared, raw whatever is declared, or broken encodings. */
export type Writing = 'as-declared' | 'raw' | 'base64-garbage' | 'base64-no-padding' | 'qp-garbage';

export interface Leaf {
  kind: 'leaf';
  type: string;
  charset: string | null;
  name: string | null;
  disposition: 'attachment' | 'inline' | 'garbage' | null;
  encoding: Encoding;
  writing: Writing;
  payload: Payload;
  headers: HeaderSpec[];
}

export type Boundary = 'ok' | 'missing-param' | 'mismatch' | 'same-as-parent' | 'empty' | 'spaces' | 'long' | 'prefix-of-parent';

export interface Multipart {
  kind: 'multipart';
  subtype: string;
  boundary: Boundary;
  /** Write the closing delimiter ("--b--"). */
  close: boolean;
  duplicateContentType: boolean;
  preamble: string;
  epilogue: string;
  children: MimeNode[];
  headers: HeaderSpec[];
}

export interface Attached {
  kind: 'message';
  inner: MailSpec;
}

/** `count` copies of one leaf in one multipart/mixed (500 parts is mailsplit's limit). */
export interface Many {
  kind: 'many';
  count: number;
  child: Leaf;
}

/** `levels` multiparts nested one in the other around `inner`. */
export interface Deep {
  kind: 'deep';
  levels: number;
  inner: MimeNode;
}

export type MimeNode = Leaf | Multipart | Attached | Many | Deep;

export interface MailSpec {
  headers: HeaderSpec[];
  body: MimeNode;
  lineEnd: 'crlf' | 'lf' | 'mixed';
}

// --- generators -------------------------------------------------------------------------------

const sometimes = <T>(a: fc.Arbitrary<T>, rare: fc.Arbitrary<T>, weight = 6) => fc.oneof({ weight, arbitrary: a }, { weight: 1, arbitrary: rare });

const headerName = fc.constantFrom('Subject', 'X-Long', 'Received', 'To', 'Cc', 'References', 'X-Mailer', 'Content-Type', 'From', 'DKIM-Signature', 'Comments');

export const header: fc.Arbitrary<HeaderSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('plain' as const), name: headerName, value: fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('=?UTF-8?B?5pel5pys6Kqe?=', '=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=', '=?x-unknown?Q?=FF=FE?=', '=?UTF-8?B?####?=', '"a" <b@c>', '')) }) },
  // Around the parser's limits: 64 KiB per header block (mailsplit's maxHeadSize) and beyond.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('huge' as const), name: headerName, size: sometimes(fc.integer({ min: 998, max: 20_000 }), fc.integer({ min: 60_000, max: 300_000 }), 3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('many' as const), count: sometimes(fc.integer({ min: 10, max: 300 }), fc.integer({ min: 1000, max: 6000 }), 3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('folded' as const), lines: sometimes(fc.integer({ min: 2, max: 50 }), fc.integer({ min: 500, max: 4000 }), 3), width: fc.integer({ min: 1, max: 200 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 120 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'dkim' as const }) },
);

const payload: fc.Arbitrary<Payload> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('text' as const), line: fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('.', '..', '--', '-----BEGIN PGP MESSAGE-----', 'begin 644 x.exe', 'héllo wörld', '\u3042\u3044')), count: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 100, max: 3000 })) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 400 }) }) },
  { weight: 3, arbitrary: zipSpec.map((zip) => ({ kind: 'zip' as const, zip })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'program' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pdf' as const), encrypted: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('office' as const), encrypted: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'pgp' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('big' as const), size: fc.integer({ min: 64 * 1024, max: 1024 * 1024 }) }) },
);

const leafType = fc.constantFrom('text/plain', 'text/html', 'application/octet-stream', 'application/zip', 'application/pdf', 'application/x-msdownload',
  'image/png', 'message/rfc822', 'message/partial', 'application/pkcs7-mime; smime-type=enveloped-data', 'application/pkcs7-mime; smime-type=signed-data',
  'application/pgp-encrypted', 'text/plain; format=flowed; delsp=yes', 'TEXT/PLAIN', 'text', '/', ';;;', 'text/plain; name*0="a"; name*1=".exe"', '');

export const leaf: fc.Arbitrary<Leaf> = fc.record({
  kind: fc.constant('leaf' as const),
  type: leafType,
  charset: sometimes(fc.constantFrom(null, 'utf-8', 'iso-2022-jp', 'shift_jis'), fc.constantFrom('x-no-such-charset', 'utf-7', '"', 'utf-16le', 'euc-jp\0')),
  name: fc.option(fileName, { freq: 2 }),
  disposition: fc.constantFrom(null, 'attachment', 'inline', 'garbage'),
  encoding: fc.constantFrom<Encoding>('7bit', '8bit', 'binary', 'base64', 'base64', 'quoted-printable', 'x-uuencode', 'BASE64', 'base64; x=y', ''),
  writing: sometimes(fc.constant<Writing>('as-declared'), fc.constantFrom<Writing>('raw', 'base64-garbage', 'base64-no-padding', 'qp-garbage'), 4),
  payload,
  headers: fc.array(header, { maxLength: 2 }),
});

/** A leaf of a few hundred bytes at most: what Many copies and Deep wraps (sizes multiply there). */
const smallLeaf: fc.Arbitrary<Leaf> = leaf.chain((l) =>
  fc.oneof(
    fc.record({ kind: fc.constant('text' as const), line: fc.string({ maxLength: 40 }), count: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 100 }) }),
    fc.constantFrom<Payload>({ kind: 'program' }, { kind: 'pgp' }, { kind: 'pdf', encrypted: true }),
  ).map((payload) => ({ ...l, payload, headers: l.headers.filter((h) => h.kind === 'plain' || h.kind === 'raw') })),
);

const multipartSubtype = fc.constantFrom('mixed', 'alternative', 'related', 'signed; protocol="application/pgp-signature"', 'encrypted; protocol="application/pgp-encrypted"', 'digest', 'report', 'x-unknown');

export const { node: mimeNode, mail } = fc.letrec<{ node: MimeNode; mail: MailSpec; multipart: Multipart; message: Attached }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: leaf },
    { weight: 3, arbitrary: tie('multipart') },
    { weight: 1, arbitrary: tie('message') },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('many' as const), count: sometimes(fc.integer({ min: 2, max: 50 }), fc.integer({ min: 480, max: 800 }), 2), child: smallLeaf }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('deep' as const), levels: sometimes(fc.integer({ min: 2, max: 20 }), fc.integer({ min: 100, max: 600 }), 2), inner: smallLeaf }) },
  ),
  multipart: fc.record({
    kind: fc.constant('multipart' as const),
    subtype: multipartSubtype,
    boundary: sometimes(fc.constant<Boundary>('ok'), fc.constantFrom<Boundary>('missing-param', 'mismatch', 'same-as-parent', 'empty', 'spaces', 'long', 'prefix-of-parent'), 5),
    close: sometimes(fc.constant(true), fc.constant(false)),
    duplicateContentType: sometimes(fc.constant(false), fc.constant(true), 10),
    preamble: sometimes(fc.constant(''), fc.string({ maxLength: 100 })),
    epilogue: sometimes(fc.constant(''), fc.string({ maxLength: 100 })),
    children: fc.array(tie('node'), { maxLength: 4 }),
    headers: fc.array(header, { maxLength: 1 }),
  }),
  message: fc.record({ kind: fc.constant('message' as const), inner: tie('mail') }),
  mail: fc.record({
    headers: fc.array(header, { maxLength: 4 }),
    body: tie('node'),
    lineEnd: sometimes(fc.constant('crlf' as const), fc.constantFrom('lf' as const, 'mixed' as const), 10),
  }),
}));

// --- rendering --------------------------------------------------------------------------------

const CRLF = '\r\n';
export const MAX_MAIL_BYTES = 4 * 1024 * 1024;

function renderHeader(h: HeaderSpec): Buffer {
  switch (h.kind) {
    case 'plain': return Buffer.from(`${h.name}: ${h.value.replace(/[\r\n]/g, ' ')}${CRLF}`);
    case 'huge': return Buffer.from(`${h.name}: ${'a'.repeat(h.size)}${CRLF}`);
    case 'many': {
      let s = '';
      for (let i = 0; i < h.count; i++) s += `X-Many-${i}: value ${i}${CRLF}`;
      return Buffer.from(s);
    }
    case 'folded': {
      let s = 'References: <first@example>';
      for (let i = 0; i < h.lines; i++) s += `${CRLF}\t<${'r'.repeat(h.width)}${i}@example>`;
      return Buffer.from(s + CRLF);
    }
    case 'raw': return Buffer.concat([Buffer.from(h.bytes), Buffer.from(CRLF)]);
    case 'dkim': return Buffer.from(`DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=x; b=y${CRLF}`);
  }
}

const PDF = (encrypted: boolean) => Buffer.from(`%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n${encrypted ? 'trailer\n<< /Encrypt 5 0 R >>\n' : ''}%%EOF\n`);
const CFB = (encrypted: boolean) => Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(504), Buffer.from(encrypted ? 'EncryptedPackage' : 'WordDocument', 'utf16le')]);
const PGP = Buffer.from('-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA1234567890ABCDEFGHIJ\r\n=abcd\r\n-----END PGP MESSAGE-----\r\n');

async function payloadBytes(p: Payload): Promise<Buffer> {
  switch (p.kind) {
    case 'text': return Buffer.from(`${p.line.replace(/[\r\n]/g, '')}${CRLF}`.repeat(p.count));
    case 'bytes': return Buffer.from(p.bytes);
    case 'zip': return renderZip(p.zip);
    case 'program': return PROGRAM_BYTES;
    case 'pdf': return PDF(p.encrypted);
    case 'office': return CFB(p.encrypted);
    case 'pgp': return PGP;
    case 'big': return Buffer.from(`${'b'.repeat(74)}${CRLF}`.repeat(Math.ceil(p.size / 76)));
  }
}

function base64Lines(bytes: Buffer): string {
  return (bytes.toString('base64').match(/.{1,76}/g) ?? []).join(CRLF) + CRLF;
}

function quotedPrintable(bytes: Buffer): string {
  let out = '';
  let line = 0;
  for (const b of bytes) {
    const piece = (b >= 33 && b <= 126 && b !== 61) || b === 32 ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (line + piece.length > 75) {
      out += `=${CRLF}`;
      line = 0;
    }
    out += piece;
    line += piece.length;
  }
  return out + CRLF;
}

async function leafBody(l: Leaf): Promise<Buffer> {
  const bytes = await payloadBytes(l.payload);
  const encoding = l.encoding.toLowerCase().split(';')[0]!.trim();
  switch (l.writing) {
    case 'raw': return bytes;
    case 'base64-garbage': return Buffer.from(`${base64Lines(bytes).replace(/[A-F]/g, '!').replace(/g/g, '=')}====${CRLF}%%%${CRLF}`);
    case 'base64-no-padding': return Buffer.from(bytes.toString('base64').replace(/=+$/, '') + 'Q');
    case 'qp-garbage': return Buffer.from(`${quotedPrintable(bytes).replace(/=([0-9A-F])/g, '=X$1')}=${CRLF}=Z${CRLF}=`);
    case 'as-declared':
      if (encoding === 'base64') return Buffer.from(base64Lines(bytes));
      if (encoding === 'quoted-printable') return Buffer.from(quotedPrintable(bytes));
      return bytes;
  }
}

interface Scope {
  /** Boundaries of the enclosing multiparts, innermost last. */
  boundaries: string[];
  counter: { n: number };
}

function contentTypeOf(l: Leaf): string {
  let ct = l.type || 'text/plain';
  if (l.charset !== null) ct += `; charset=${l.charset}`;
  if (l.name !== null) ct += `; name="${l.name.replace(/"/g, '\\"')}"`;
  return ct;
}

async function renderLeaf(l: Leaf): Promise<Buffer[]> {
  const head = [`Content-Type: ${contentTypeOf(l)}`];
  if (l.encoding !== '') head.push(`Content-Transfer-Encoding: ${l.encoding}`);
  if (l.disposition !== null) {
    const d = l.disposition === 'garbage' ? "attachment;;; filename*=UTF-8''%E3%81" : l.disposition;
    head.push(`Content-Disposition: ${d}${l.name !== null && l.disposition !== 'garbage' ? `; filename="${l.name.replace(/"/g, '\\"')}"` : ''}`);
  }
  return [Buffer.from(head.join(CRLF) + CRLF), ...l.headers.map(renderHeader), Buffer.from(CRLF), await leafBody(l)];
}

function boundaryFor(kind: Boundary, scope: Scope): { declared: string | null; used: string } {
  const fresh = `=_b${scope.counter.n++}_xxxx`;
  const parent = scope.boundaries.at(-1) ?? fresh;
  const prefix = parent.slice(0, Math.max(1, parent.length - 3));
  switch (kind) {
    case 'ok': return { declared: fresh, used: fresh };
    case 'missing-param': return { declared: null, used: fresh };
    case 'mismatch': return { declared: fresh, used: `${fresh}-other` };
    case 'same-as-parent': return { declared: parent, used: parent };
    case 'empty': return { declared: '', used: '' };
    case 'spaces': return { declared: `a b ${fresh} `, used: `a b ${fresh} ` };
    case 'long': return { declared: `${fresh}${'L'.repeat(300)}`, used: `${fresh}${'L'.repeat(300)}` };
    case 'prefix-of-parent': return { declared: prefix, used: prefix };
  }
}

/** `copies`: one rendered part written `count` times after the children (Many). */
async function renderMultipart(m: Omit<Multipart, 'kind'>, scope: Scope, copies?: { bytes: Buffer; count: number }): Promise<Buffer[]> {
  const b = boundaryFor(m.boundary, scope);
  const ct = `Content-Type: multipart/${m.subtype}${b.declared === null ? '' : `; boundary="${b.declared}"`}${CRLF}`;
  const out: Buffer[] = [Buffer.from(ct + (m.duplicateContentType ? `Content-Type: multipart/mixed; boundary="other"${CRLF}` : '')), ...m.headers.map(renderHeader), Buffer.from(CRLF)];
  if (m.preamble) out.push(Buffer.from(m.preamble + CRLF));
  const inner: Scope = { boundaries: [...scope.boundaries, b.used], counter: scope.counter };
  for (const child of m.children) out.push(Buffer.from(`--${b.used}${CRLF}`), ...(await renderNode(child, inner)), Buffer.from(CRLF));
  for (let i = 0; i < (copies?.count ?? 0); i++) out.push(Buffer.from(`--${b.used}${CRLF}`), copies!.bytes, Buffer.from(CRLF));
  if (m.close) out.push(Buffer.from(`--${b.used}--${CRLF}`));
  if (m.epilogue) out.push(Buffer.from(m.epilogue + CRLF));
  return out;
}

const plainMultipart = (children: MimeNode[]): Omit<Multipart, 'kind'> => ({ subtype: 'mixed', boundary: 'ok', close: true, duplicateContentType: false, preamble: '', epilogue: '', children, headers: [] });

async function renderNode(n: MimeNode, scope: Scope): Promise<Buffer[]> {
  switch (n.kind) {
    case 'leaf': return renderLeaf(n);
    case 'multipart': return renderMultipart(n, scope);
    case 'message': return [Buffer.from(`Content-Type: message/rfc822${CRLF}${CRLF}`), ...(await renderParts(n.inner, scope))];
    case 'many': return renderMultipart(plainMultipart([]), scope, { bytes: Buffer.concat(await renderLeaf(n.child)), count: n.count });
    case 'deep': {
      let inner: MimeNode = n.inner;
      for (let i = 0; i < n.levels; i++) inner = { kind: 'multipart', ...plainMultipart([inner]) };
      return renderNode(inner, scope);
    }
  }
}

async function renderParts(m: MailSpec, scope: Scope): Promise<Buffer[]> {
  const top = [Buffer.from(`From: <sender@outside.example>${CRLF}To: <alice@yubin.test>${CRLF}MIME-Version: 1.0${CRLF}`), ...m.headers.map(renderHeader)];
  return [...top, ...(await renderNode(m.body, scope))];
}

/** The message as bytes, with the spec's line ends. */
export async function renderMail(m: MailSpec): Promise<Buffer> {
  const all = Buffer.concat(await renderParts(m, { boundaries: [], counter: { n: 0 } }));
  // Nesting multiplies sizes; a case stays under a few seconds (a cut message is input too).
  const bytes = all.length > MAX_MAIL_BYTES ? all.subarray(0, MAX_MAIL_BYTES) : all;
  if (m.lineEnd === 'crlf') return bytes;
  const text = bytes.toString('latin1');
  if (m.lineEnd === 'lf') return Buffer.from(text.replace(/\r\n/g, '\n'), 'latin1');
  let i = 0;
  return Buffer.from(text.replace(/\r\n/g, () => ['\n', '\r', '\r\n'][i++ % 3]!), 'latin1');
}
