// Target "address": the envelope address parser and the relay decision (src/address/parse.ts,
// src/policy/relay.ts), pure functions, so thousands of cases a second. A stranger (not trusted,
// not authenticated, no lease) may only ever get a plain mailbox of a local domain accepted; what
// counts as that is decided here independently of the parser, so a parser slip shows up.
import fc from 'fast-check';
import { parseEnvelopeAddress, comparableDomain } from '../../../src/address/parse.ts';
import { decideRcpt, type RelayClient, type RelaySite } from '../../../src/policy/relay.ts';
import { envelopeAddress, LOCAL_DOMAIN } from '../gen/address.ts';
import { plainLocalRecipient } from '../oracles/relay.ts';
import type { Target } from '../harness.ts';

interface AddressCase {
  rcpt: string;
  who: 'stranger' | 'trusted' | 'authenticated' | 'leased';
  smtputf8: boolean;
  role: RelaySite['role'];
}

/** A plain ASCII dot-atom mailbox of the local domain: must be accepted (every user exists here). */
function plainlyLocal(text: string): boolean {
  const m = /^([A-Za-z0-9+_-]+(?:\.[A-Za-z0-9+_-]+)*)@(yubin\.test)$/i.exec(text);
  return m !== null && m[1]!.length <= 64;
}

function client(c: AddressCase): RelayClient {
  return { address: '127.0.0.9', trusted: c.who === 'trusted', authenticated: c.who === 'authenticated', leased: c.who === 'leased', smtputf8: c.smtputf8 };
}

function check(c: AddressCase): void {
  const site: RelaySite = { role: c.role, localDomains: [LOCAL_DOMAIN, 'Bücher.Test.'], boardAddresses: ['127.0.0.1'], routes: (a) => [{ address: a, route: c.role === 'edge' ? { kind: 'internal' } : { kind: 'mailbox', user: a.split('@')[0]! } }] };
  const parsed = parseEnvelopeAddress(c.rcpt, { smtputf8: c.smtputf8 });
  if (parsed.ok && parsed.domain.endsWith('.')) throw new Error(`parsed domain keeps a trailing dot: ${parsed.domain}`);
  // Lower case but for the "IPv6:" tag, which the literal keeps as RFC 5321 §4.1.3 spells it.
  if (parsed.ok && parsed.canonical.replace("[IPv6:", "[ipv6:") !== parsed.canonical.toLowerCase()) throw new Error(`canonical form not lower case: ${parsed.canonical}`);
  if (parsed.ok && parsed.domain) comparableDomain(parsed.domain);
  const d = decideRcpt(c.rcpt, client(c), site);
  if (d.action === 'reject') {
    if (!/^[45]\d\d$/.test(String(d.code)) || d.enhanced[0] !== String(d.code)[0] || !/^\d\.\d{1,3}\.\d{1,3}$/.test(d.enhanced)) {
      throw new Error(`malformed refusal: ${d.code} ${d.enhanced}`);
    }
    if (/[\r\n\0]/.test(d.text) || d.text.length > 500) throw new Error(`refusal text would break the SMTP reply: ${JSON.stringify(d.text.slice(0, 200))}`);
  }
  if (c.who !== 'stranger') return;
  if (d.action === 'accept' && (d.routes.some((r) => r.route.kind === 'remote') || !plainLocalRecipient(c.rcpt, c.smtputf8))) {
    throw new Error(`relay: a stranger got ${JSON.stringify(c.rcpt)} accepted as ${d.address} (${d.routes.map((r) => r.route.kind).join(',')})`);
  }
  if (plainlyLocal(c.rcpt) && d.action !== 'accept') throw new Error(`a plain local address was refused: ${d.code} ${d.text}`);
}

export const addressTarget: Target<AddressCase> = {
  name: 'address',
  property: 'parser and relay decision never throw; a stranger never gets a foreign or routed recipient accepted',
  arbitrary: fc.record({
    rcpt: envelopeAddress,
    who: fc.constantFrom('stranger', 'stranger', 'stranger', 'trusted', 'authenticated', 'leased'),
    smtputf8: fc.boolean(),
    role: fc.constantFrom('all-in-one', 'edge', 'internal'),
  }),
  caseTimeoutMs: 1000,
  async open() {
    return { check, close: async () => undefined, render: (c) => Buffer.from(c.rcpt) };
  },
};
