// smtp-server adds an enhanced status code chosen from the reply code alone ("550" → 5.0.0/5.1.1).
// Our hooks know the exact one and write it at the start of the text; when a reply text already
// starts with one, send it as written. Replies smtp-server makes itself keep its own codes.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;
let applied = false;

export function keepOwnEnhancedCodes(): void {
  if (applied) return;
  applied = true;
  const proto = SMTPConnection.prototype as unknown as { send(code: number, data: unknown, context?: unknown): void };
  // smtp-server is pinned (package.json) while we patch it; fail at start if `send` moved.
  if (typeof proto.send !== 'function') throw new Error('smtp-server is not the version src/smtpd/enhanced-codes.ts patches: SMTPConnection.prototype.send is missing');
  const original = proto.send;
  proto.send = function send(this: unknown, code: number, data: unknown, context?: unknown) {
    if (typeof data === 'string' && ENHANCED.test(data)) return original.call(this, code, data, false);
    return original.call(this, code, data, context);
  };
}
