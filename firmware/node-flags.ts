// The V8 flags the firmware runs with, everywhere: `npm start` (package.json), the board's systemd
// unit (image/), the bench and the tests that measure it. One list, so what is measured is what ships.
// - A 1 MiB young generation makes V8 collect short-lived stream buffers often, so RSS follows the
//   live data instead of GC lag: a 50 MiB message adds ~10 MiB instead of ~43 MiB (test/smtpd/memory).
// - A 128 MiB old generation: a board has 512 MiB for everything. V8 also grows a heap with a small
//   limit by a smaller factor (about 1.3-2× instead of up to 4× after each full collection), so
//   the peak during 20 concurrent 10 KiB sessions is ~92 MiB instead of ~121 MiB, at no cost in
//   messages per second (`node bench/runtime-flags.ts`, figures in bench/README.md).
export const NODE_FLAGS = ['--max-old-space-size=128', '--max-semi-space-size=1'] as const;

/**
 * The environment the firmware runs with, everywhere NODE_FLAGS go (the unit's Environment= line,
 * `npm start`, the bench, the tests' child firmware). Two glibc malloc arenas instead of one per
 * thread (V8's and libuv's workers each got their own and kept it): a peak of 184 MiB instead of
 * 194 MiB with 100 concurrent 1 MiB messages, 92 instead of 96 MiB with 20 × 10 KiB
 * (`node bench/runtime-flags.ts`, figures in bench/README.md).
 */
export const RUNTIME_ENV = { MALLOC_ARENA_MAX: '2' } as const;
