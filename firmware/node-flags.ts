// The V8 flags the firmware runs with, everywhere: `npm start` (package.json), the board's systemd
// unit (image/), and the tests that measure it. One list, so what is measured is what ships.
// A 1 MiB young generation makes V8 collect short-lived stream buffers often, so RSS follows the
// live data instead of GC lag: a 50 MiB message adds ~10 MiB instead of ~43 MiB (test/smtpd/memory).
export const NODE_FLAGS = ['--max-semi-space-size=1'] as const;
