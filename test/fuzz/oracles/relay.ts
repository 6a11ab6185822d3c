// What a stranger (not trusted, not authenticated, no POP-before-SMTP lease) may get accepted as
// a recipient, decided independently of src/address/parse.ts: the oracle of the relay properties.
import { domainToASCII } from 'node:url';
import { LOCAL_DOMAIN, IDN_DOMAIN } from '../gen/address.ts';

const LOCAL_ASCII = new Set([LOCAL_DOMAIN, domainToASCII(IDN_DOMAIN)]);
const ATEXT = /^[A-Za-z0-9!#$&'*+\-/=?^_`{|}~.]$/;

/** The board's own address literal: [127.0.0.1], or its v4-mapped IPv6 spelling. */
function isBoardLiteral(d: string): boolean {
  if (d === '[127.0.0.1]') return true;
  const v6 = /^\[ipv6:(.+)\]$/i.exec(d);
  if (!v6) return false;
  try {
    return new URL(`http://[${v6[1]}]/`).hostname === '[::ffff:7f00:1]';
  } catch {
    return false;
  }
}

/**
 * May a stranger's RCPT with this text be accepted? Only a mailbox without routing in a local
 * domain (no trailing dot), the board's literal, or bare Postmaster (RFC 5321 §4.1.1.3).
 */
export function plainLocalRecipient(text: string, smtputf8: boolean): boolean {
  // Quotes that protect nothing name the same mailbox (RFC 5321 §4.1.2): "Postmaster" too.
  // "postmaster@" is a recipient without its domain and refused from a stranger, as "user@" is.
  if (/^(postmaster|"postmaster")$/i.test(text)) return true;
  if (/[\x00-\x1f\x7f]/.test(text)) return false;
  let local: string;
  let rest: string;
  if (text.startsWith('"')) {
    let i = 1;
    let value = '';
    for (; i < text.length && text[i] !== '"'; i++) value += text[i] === '\\' ? text[++i] ?? '' : text[i];
    if (i >= text.length) return false;
    if (/[@%!]/.test(value)) return false;
    local = text.slice(0, i + 1);
    rest = text.slice(i + 1);
  } else {
    const at = text.indexOf('@');
    if (at <= 0) return false;
    local = text.slice(0, at);
    rest = text.slice(at);
    for (const c of local) if (!(ATEXT.test(c) || (smtputf8 && c > '\x7f'))) return false;
  }
  if (!rest.startsWith('@') || local === '') return false;
  const d = rest.slice(1);
  if (d.includes('@') || d.endsWith('.')) return false;
  if (d.startsWith('[')) return isBoardLiteral(d);
  return LOCAL_ASCII.has(domainToASCII(d.toLowerCase()));
}
