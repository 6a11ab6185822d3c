// nodemailer/lib/shared as smtp-server sees it in the bundle (image/bundle.ts swaps it in for
// smtp-server only). smtp-server takes getLogger from it and nothing else; the real module loads
// nodemailer's fetch, which imports node:http, node:https and node:zlib statically: with node:http's
// namespace came undici, http2 and worker_threads, for a logger that Yubin turns off
// (src/smtpd/server.ts passes logger: false).
type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export function getLogger(options?: { logger?: unknown }): Record<Level, () => false> {
  if (options?.logger) throw new Error('smtp-server logging is not in the bundle: keep logger: false or drop image/shims/nodemailer-shared.ts');
  const silent = () => false as const;
  return { trace: silent, debug: silent, info: silent, warn: silent, error: silent, fatal: silent };
}
