// Settings of DKIM signing of outbound mail (RFC 6376, RFC 8463 ed25519).
import { setting, bool, list, oneOf, domain, type Setting } from '../settings/kinds.ts';

export const settings = {
  'dkimsign.enabled': setting(bool, true, 'live',
    'Sign outbound mail with every key found in DATA/dkim/<domain>/ for the From domain (or its nearest parent with keys). Make keys with `yubin dkim keygen DOMAIN`.'),
  'dkimsign.domains': setting(list(domain), [], 'live',
    'Domains allowed to sign for; empty: every domain that has a key under DATA/dkim/.'),
  'dkimsign.canonicalization': setting(oneOf('relaxed/relaxed', 'relaxed/simple', 'simple/relaxed', 'simple/simple'), 'relaxed/relaxed', 'live',
    'Header/body canonicalization (RFC 6376 §3.4); relaxed survives the header re-folding many relays do.'),
} satisfies Record<string, Setting<unknown>>;
