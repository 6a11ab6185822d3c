// Replies carry their own enhanced status code (RFC 3463) in the text: "5.7.1 Relay access denied".
// smtp-server would otherwise derive one from the three-digit code alone, which is too coarse
// (every 550 would read 5.1.1). See enhanced-codes.ts for how the text is passed through as written.
import type { Reply } from '../mail/types.ts';

export class SmtpReplyError extends Error {
  readonly responseCode: number;
  constructor(reply: Reply) {
    super(`${reply.enhanced} ${reply.text}`);
    this.responseCode = reply.code;
  }
}

export function replyError(code: number, enhanced: string, text: string): SmtpReplyError {
  return new SmtpReplyError({ code, enhanced, text });
}
