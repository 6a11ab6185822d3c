// The spam rules we score ourselves: authentication results, block lists, header heuristics.
// Each hit is a named rule with points, shown in X-Spam-Status so a user can see why.
import type { MimeHeaders } from '../mime/mime.ts';

export interface Hit {
  rule: string;
  points: number;
}

// Points per authentication result (RFC 8601 §2.7). A pass lowers the score a little: a forged
// sender is the strongest spam sign the board has without a content classifier.
const AUTH_POINTS: Record<string, Record<string, number>> = {
  spf: { fail: 3, softfail: 1, permerror: 1, pass: -1 },
  'sender-id': { fail: 2, softfail: 1 },
  dkim: { fail: 2, pass: -1 },
  dmarc: { fail: 5, pass: -2 },
};

/**
 * The results in Authentication-Results fields whose authserv-id is ours (RFC 8601 §5: any other
 * one may have been written by the sender), e.g. by our edge server: each method by its first result.
 */
export function parseAuthResults(fields: readonly string[], authservId: string): Record<string, string> {
  const seen: Record<string, string> = {};
  for (const field of fields) {
    const value = field.replace(/^authentication-results:\s*/i, '').replace(/\r?\n[ \t]+/g, ' ').replace(/\([^()]*\)/g, ' ');
    const [id, ...rest] = value.split(';');
    if ((id ?? '').trim().split(/\s+/)[0]?.toLowerCase() !== authservId.toLowerCase()) continue;
    for (const item of rest) {
      const m = /^\s*([a-z-]+)\s*=\s*([a-z]+)/i.exec(item);
      if (!m) continue;
      const method = m[1]!.toLowerCase();
      if (!(method in seen)) seen[method] = m[2]!.toLowerCase();
    }
  }
  return seen;
}

/** Rules from authentication results (method → result). */
export function authHits(results: Readonly<Record<string, string>>): Hit[] {
  const hits: Hit[] = [];
  for (const [method, result] of Object.entries(results)) {
    const points = AUTH_POINTS[method]?.[result];
    if (points !== undefined) hits.push({ rule: `${method.toUpperCase().replace('-', '_')}_${result.toUpperCase()}`, points });
  }
  return hits;
}

const address = (v: string) => (/<([^<>]*)>/.exec(v)?.[1] ?? v).trim().toLowerCase();

/** Cheap header and body-start heuristics: things real mail programs do not do. */
export function headerHits(head: MimeHeaders, bodyStart: string, now = Date.now()): Hit[] {
  const hits: Hit[] = [];
  const add = (rule: string, points: number) => hits.push({ rule, points });
  if (!head.hasHeader('date')) add('MISSING_DATE', 1);
  else {
    const date = Date.parse(head.getFirst('date'));
    if (Number.isNaN(date)) add('INVALID_DATE', 1);
    else if (date > now + 24 * 3600_000) add('DATE_IN_FUTURE', 2);
  }
  if (!head.hasHeader('message-id')) add('MISSING_MESSAGE_ID', 1);
  if (!head.hasHeader('from')) add('MISSING_FROM', 3);
  const subject = head.getFirst('subject');
  if (!head.hasHeader('subject')) add('MISSING_SUBJECT', 1);
  else if (/[A-Z]{4}/.test(subject) && subject === subject.toUpperCase() && subject.length >= 10) add('SUBJECT_ALL_CAPS', 1);
  if (/!!!|\$\$\$|100% free|act now|click here|viagra|casino|bitcoin doubl/i.test(subject)) add('SUBJECT_SPAM_WORDS', 2);
  // A display name that is itself an address other than the real one ("paypal@paypal.com" <x@evil>).
  const from = head.getFirst('from');
  const shown = /^\s*"?([^"<]*@[^"<]*?)"?\s*</.exec(from)?.[1]?.trim().toLowerCase();
  if (shown && shown !== address(from)) add('FROM_NAME_IS_OTHER_ADDRESS', 3);
  if (/^\s*undisclosed[- ]recipients/i.test(head.getFirst('to'))) add('UNDISCLOSED_RECIPIENTS', 1);
  if (/^text\/html/i.test(head.getFirst('content-type'))) add('HTML_ONLY', 1);
  if (/https?:\/\/(bit\.ly|tinyurl\.com|t\.co|goo\.gl|is\.gd|ow\.ly)\//i.test(bodyStart)) add('URL_SHORTENER', 2);
  if (/https?:\/\/\d{1,3}(\.\d{1,3}){3}[/:]/.test(bodyStart)) add('URL_NUMERIC_IP', 2);
  return hits;
}
