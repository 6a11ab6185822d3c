// Settings of the encrypted-content check (docs/REQUIREMENTS.md §5: encrypted or password-protected attachments
// cannot be checked, so they are passed on as they are).
import { setting, oneOf, type Setting } from '../settings/kinds.ts';

export const settings = {
  'encrypted.action': setting(oneOf('pass', 'quarantine', 'reject'), 'pass', 'live',
    'Mail with content the gateway cannot read (encrypted zip, PDF or Office file, S/MIME, PGP/MIME, inline PGP): pass it on byte for byte with an X-Yubin-Encrypted header (docs/REQUIREMENTS.md §5), quarantine it, or reject it (554 5.7.1) for sites that forbid password-zip mail.'),
} satisfies Record<string, Setting<unknown>>;
