// Envelope addresses (RFC 5321 §4.1.2 Path / Mailbox) as smtp-server hands them over: the text
// between < and >. Untrusted input is parsed here once; policy reads the flags, never the raw text.
// smtp-server already strips source routes and rejects some forms; nothing here relies on that.
import { domainToASCII } from 'node:url';
import { formatIpLiteral, parseIpLiteral, canonicalIp, type IpLiteral } from './ip-literal.ts';

/** RFC 5321 §4.5.3.1: local part 64 octets, domain 255, path 256 (the brackets count). */
export const MAX_LOCAL_OCTETS = 64;
export const MAX_DOMAIN_OCTETS = 255;
export const MAX_PATH_OCTETS = 256;
/** Hard bound before any scanning, so a huge argument costs nothing. */
const MAX_INPUT_CHARS = 1024;

/** Sender-specified routing and other oddities a policy may refuse (see src/policy/relay.ts). */
export interface AddressFlags {
  /** "" — the null reverse-path <>, valid for MAIL FROM only (RFC 5321 §4.5.5). */
  nullPath: boolean;
  /** "@a,@b:user@c" (RFC 5321 Appendix C); the route is dropped, user@c is kept. */
  sourceRoute: boolean;
  /** "%" in the local part: the percent hack, user%remote@relay. */
  percent: boolean;
  /** "!" in the local part: a UUCP bang path, remote!user@relay. */
  bang: boolean;
  /** "@" left in the local part: user@remote@relay, or quoted "user@remote"@relay. */
  nestedAt: boolean;
  /** The local part is a quoted string; percent/bang/nestedAt then tell what the quotes hold. */
  quoted: boolean;
  /** "user" or "user@": no domain at all. */
  noDomain: boolean;
  /** Unbracketed "user@192.0.2.1" (RFC 5321 §4.1.3 requires brackets). */
  bareIp: boolean;
  /** "user@example.com." — legal in DNS, not in SMTP, and a classic way around domain matching. */
  trailingDot: boolean;
  /** Leading, trailing or doubled dots in an unquoted local part ("taro..@docomo.ne.jp"): not
   * RFC 5321, but old Japanese mobile addresses look like that, so they are flagged, not refused. */
  irregularDots: boolean;
  /** Non-ASCII characters anywhere (local part needs SMTPUTF8; see parseEnvelopeAddress). */
  eightBit: boolean;
}

export interface ParsedAddress {
  readonly ok: true;
  /** Local part as written (quotes and escapes kept); '' for the null path. */
  readonly local: string;
  /** Local part with quotes and backslash escapes removed. */
  readonly localValue: string;
  /** Lower-case local part for lookups: unquoted when the quotes were needless ("Taro" → taro). */
  readonly localKey: string;
  /** Lower-case domain without trailing dot; an IP literal in canonical form; '' if missing. */
  readonly domain: string;
  /** The domain in ASCII (IDNA A-labels) for comparisons and DNS; equals domain when ASCII. */
  readonly asciiDomain: string;
  /** local@domain with the local part as written; '' for the null path. */
  readonly address: string;
  /** Lower-case lookup key: localKey@asciiDomain (localKey alone when there is no domain). */
  readonly canonical: string;
  /** Source-route domains that were dropped, normalised. */
  readonly route: readonly string[];
  /** Set when the domain is an address literal. */
  readonly ipLiteral: IpLiteral | null;
  readonly flags: Readonly<AddressFlags>;
}

export type AddressProblem = 'syntax' | 'too-long' | 'needs-smtputf8';

export interface AddressError {
  readonly ok: false;
  readonly problem: AddressProblem;
  /** What is wrong, for the peer: says which part and why, never echoes the raw input. */
  readonly detail: string;
}

export interface ParseOptions {
  /** The transaction declared SMTPUTF8 (RFC 6531 §3.4): UTF-8 allowed in the local part. */
  smtputf8?: boolean;
}

// C0/C1 controls, DEL, and invisible format characters that only serve log injection and spoofing.
const FORBIDDEN = /[\x00-\x1f\x7f-\x9f\u200b\u2060\ufeff]/;
// RFC 5321 §4.1.2 atext, plus "." (Dot-string) and "@" (flagged as nested, not refused here).
const LOCAL_ASCII = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.@]$/;
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+)*$/u;
const LDH_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DOTTED_QUAD = /^\d{1,3}(\.\d{1,3}){3}$/;
const NON_ASCII = /[^\x00-\x7f]/;

function fail(problem: AddressProblem, detail: string): AddressError {
  return { ok: false, problem, detail };
}

const needsSmtputf8 = (): AddressError => fail('needs-smtputf8', 'a non-ASCII local part needs the SMTPUTF8 parameter (RFC 6531 §3.3)');

const octets = (s: string): number => Buffer.byteLength(s, 'utf8');

interface DomainPart {
  domain: string;
  asciiDomain: string;
  ipLiteral: IpLiteral | null;
  bareIp: boolean;
  trailingDot: boolean;
}

/** A domain name or address literal after the "@"; one trailing dot is removed and flagged. */
function parseDomain(text: string): DomainPart | AddressError {
  let d = text;
  const trailingDot = d.endsWith('.');
  if (trailingDot) d = d.slice(0, -1);
  if (d === '') return fail('syntax', 'the domain is empty');
  if (d.startsWith('[')) {
    if (!d.endsWith(']')) return fail('syntax', 'an address literal must end with "]"');
    const literal = parseIpLiteral(d.slice(1, -1));
    if (!literal) return fail('syntax', 'the address literal is not [IPv4] or [IPv6:address] (RFC 5321 §4.1.3)');
    const domain = formatIpLiteral(literal);
    return { domain, asciiDomain: domain, ipLiteral: literal, bareIp: false, trailingDot };
  }
  const lower = d.toLowerCase();
  if (DOTTED_QUAD.test(lower) || canonicalIp(lower)?.family === 6) {
    return { domain: lower, asciiDomain: lower, ipLiteral: null, bareIp: true, trailingDot };
  }
  // IDNA: smtp-server turns A-labels into U-labels before we see them, so both must compare equal.
  const asciiDomain = NON_ASCII.test(lower) ? domainToASCII(lower) : lower;
  if (asciiDomain === '') return fail('syntax', 'the domain is not a valid internationalised domain name');
  if (octets(asciiDomain) > MAX_DOMAIN_OCTETS) {
    return fail('too-long', `the domain is longer than ${MAX_DOMAIN_OCTETS} octets (RFC 5321 §4.5.3.1.2)`);
  }
  for (const label of asciiDomain.split('.')) {
    if (!LDH_LABEL.test(label)) {
      return fail('syntax', 'the domain must be labels of letters, digits and inner hyphens, 1-63 each, joined by single dots');
    }
  }
  return { domain: lower, asciiDomain, ipLiteral: null, bareIp: false, trailingDot };
}

/** "@a,@b:" at the start: returns the route domains and the rest, or an error. */
function splitSourceRoute(text: string): { route: string[]; rest: string } | AddressError {
  const route: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] !== '@') return fail('syntax', 'a source route must be "@domain,@domain:" before the mailbox');
    // Route domains end at "," or ":", except inside an address literal ("[IPv6:…]").
    const close = text[i + 1] === '[' ? text.indexOf(']', i) + 1 : text.slice(i).search(/[,:]/) + i;
    const end = close > i ? close : -1;
    if (end < 0) return fail('syntax', 'the local part is missing, or a source route lacks its ":"');
    const hop = parseDomain(text.slice(i + 1, end));
    if ('ok' in hop) return hop;
    if (hop.trailingDot || hop.bareIp) return fail('syntax', 'a source route domain is malformed');
    route.push(hop.asciiDomain);
    if (text[end] === ':') return { route, rest: text.slice(end + 1) };
    if (text[end] !== ',') return fail('syntax', 'the source route does not end with ":"');
    i = end + 1;
  }
}

/** A quoted local part at the start of text (RFC 5321 §4.1.2 Quoted-string). */
function splitQuoted(text: string): { written: string; value: string; rest: string } | AddressError {
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') return { written: text.slice(0, i + 1), value, rest: text.slice(i + 1) };
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined) break;
      value += next;
      i++;
    } else {
      value += c;
    }
  }
  return fail('syntax', 'the quoted local part has no closing quote');
}

/**
 * Parse the text between < and > of MAIL FROM or RCPT TO. Never throws; every refusal names the
 * part at fault. The null path "" parses (flags.nullPath): only MAIL FROM may use it.
 */
export function parseEnvelopeAddress(text: string, options: ParseOptions = {}): ParsedAddress | AddressError {
  if (text.length > MAX_INPUT_CHARS) {
    return fail('too-long', `the address is longer than ${MAX_PATH_OCTETS} octets (RFC 5321 §4.5.3.1.3)`);
  }
  if (FORBIDDEN.test(text)) return fail('syntax', 'the address contains control or invisible characters');
  const flags: AddressFlags = {
    nullPath: false, sourceRoute: false, percent: false, bang: false, nestedAt: false, quoted: false,
    noDomain: false, bareIp: false, trailingDot: false, irregularDots: false, eightBit: NON_ASCII.test(text),
  };
  if (text === '') {
    flags.nullPath = true;
    return { ok: true, local: '', localValue: '', localKey: '', domain: '', asciiDomain: '', address: '', canonical: '', route: [], ipLiteral: null, flags };
  }

  let rest = text;
  let route: string[] = [];
  if (rest.startsWith('@')) {
    const split = splitSourceRoute(rest);
    if ('ok' in split) return split;
    flags.sourceRoute = true;
    route = split.route;
    rest = split.rest;
  }

  let local: string;
  let localValue: string;
  let domainText: string | null;
  if (rest.startsWith('"')) {
    const q = splitQuoted(rest);
    if ('ok' in q) return q;
    flags.quoted = true;
    local = q.written;
    localValue = q.value;
    if (q.rest === '') domainText = null;
    else if (q.rest.startsWith('@')) domainText = q.rest.slice(1);
    else return fail('syntax', 'only "@domain" may follow a quoted local part');
    for (const c of localValue) {
      // qtextSMTP and quoted-pairSMTP are printable ASCII (RFC 5321 §4.1.2); UTF-8 needs SMTPUTF8.
      if (c > '\x7f' && !options.smtputf8) return needsSmtputf8();
    }
  } else {
    // The domain starts after the last "@"; an "@" before it stays in the local part, flagged.
    const at = rest.lastIndexOf('@');
    local = at < 0 ? rest : rest.slice(0, at);
    localValue = local;
    domainText = at < 0 ? null : rest.slice(at + 1);
    if (local === '') return fail('syntax', 'the local part is empty');
    for (const c of local) {
      if (c > '\x7f') {
        if (!options.smtputf8) return needsSmtputf8();
      } else if (!LOCAL_ASCII.test(c)) {
        return fail('syntax', `the local part contains ${JSON.stringify(c)}, which must be quoted (RFC 5321 §4.1.2)`);
      }
    }
    flags.irregularDots = local.startsWith('.') || local.endsWith('.') || local.includes('..');
  }
  if (octets(local) > MAX_LOCAL_OCTETS) {
    return fail('too-long', `the local part is longer than ${MAX_LOCAL_OCTETS} octets (RFC 5321 §4.5.3.1.1)`);
  }
  flags.percent = localValue.includes('%');
  flags.bang = localValue.includes('!');
  flags.nestedAt = localValue.includes('@');

  // Quotes that protect nothing ("taro"@x) name the same mailbox as taro@x (RFC 5321 §4.1.2).
  const key = (flags.quoted && DOT_ATOM.test(localValue) ? localValue : local).toLowerCase();

  let d: DomainPart | null = null;
  if (domainText !== null && domainText !== '') {
    const parsed = parseDomain(domainText);
    if ('ok' in parsed) return parsed;
    d = parsed;
  }
  // Checked after the parts, so an over-long part is named; the path counts the two brackets.
  if (octets(text) + 2 > MAX_PATH_OCTETS) {
    return fail('too-long', `the address is longer than ${MAX_PATH_OCTETS} octets (RFC 5321 §4.5.3.1.3)`);
  }
  if (d === null) {
    flags.noDomain = true;
    return { ok: true, local, localValue, localKey: key, domain: '', asciiDomain: '', address: local, canonical: key, route, ipLiteral: null, flags };
  }
  flags.bareIp = d.bareIp;
  flags.trailingDot = d.trailingDot;
  return {
    ok: true,
    local,
    localValue,
    localKey: key,
    domain: d.domain,
    asciiDomain: d.asciiDomain,
    address: `${local}@${d.domain}`,
    canonical: `${key}@${d.asciiDomain}`,
    route,
    ipLiteral: d.ipLiteral,
    flags,
  };
}

/** A configured domain ("Example.COM.", "bücher.de", "[192.0.2.1]") in the asciiDomain spelling
 * envelope domains are compared in, or null when it is no domain. */
export function comparableDomain(text: string): string | null {
  const d = parseDomain(text.trim());
  return 'ok' in d || d.bareIp ? null : d.asciiDomain;
}
