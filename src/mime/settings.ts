// Limits on the MIME structure of a message, checked while it is inspected after DATA. A message
// beyond one is refused with a permanent reply naming the limit (or, by mime.onLimit, passed on
// uninspected); it never reaches a parser that would grow without bound.
import { setting, int, oneOf, type Setting } from '../settings/kinds.ts';

export const settings = {
  'mime.maxHeaderBytes': setting(int(1024, 16 * 1024 * 1024), 256 * 1024, 'live',
    "Largest top-level header block in bytes (552 5.3.4 beyond). Real mail's is a few KiB; long Received chains and ARC sets reach tens of KiB. Exchange's default limit is also 256 KiB."),
  'mime.maxPartHeaderBytes': setting(int(1024, 16 * 1024 * 1024), 64 * 1024, 'live',
    'Largest header block of one MIME part below the top (552 5.3.4 beyond). A part header holds a few Content-* fields.'),
  'mime.maxParts': setting(int(1, 100_000), 1000, 'live',
    'Most MIME parts (of every level) in one message (554 5.6.0 beyond). Each part costs a parser node; real mail has a handful.'),
  'mime.maxDepth': setting(int(1, 1000), 50, 'live',
    'Deepest nesting of multipart parts (554 5.6.0 beyond). Postfix stops at 100 (mime_nesting_limit); real mail rarely goes past 5.'),
  'mime.onLimit': setting(oneOf('reject', 'accept'), 'reject', 'live',
    'A message beyond mime.maxPartHeaderBytes, mime.maxParts or mime.maxDepth: reject (permanent 5xx naming the limit), or accept it uninspected with an X-Yubin-Inspection warning header. accept lets such mail past the attachment and encrypted-content checks: keep reject unless a partner must send such mail. A top header block beyond mime.maxHeaderBytes is always refused (sender checks need it whole).'),
} satisfies Record<string, Setting<unknown>>;
