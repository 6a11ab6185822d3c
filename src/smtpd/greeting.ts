// The pause before the 220 greeting, as policy. smtp-server waits a fixed 100 ms before every
// greeting (SMTPConnection.init) and answers a client that talks first "421 You talk too soon".
// A pause is worth having only where spam robots knock: untrusted clients on the MTA port. Trusted
// clients and the submission ports are greeted at once, which is most of an MUA's round trip.
// This patch replaces init() with the same steps and a per-connection delay read from the
// server's options, and refuses an early talker with 554 (RFC 5321 §3.1: the client waits for
// the greeting; §4.2 allows 554 in place of it) so that it can be counted.
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

export interface GreetingPolicy {
  /** Milliseconds to wait before greeting a client from this address; 0 greets at once. */
  delayFor(remoteAddress: string): number;
  /** A client sent a command before it was greeted; it gets 554 and is disconnected. */
  earlyTalker(remoteAddress: string): void;
}

/** The key under which a server's options carry its GreetingPolicy. */
export const GREETING_POLICY = Symbol('yubin.greetingPolicy');

export const EARLY_TALKER_REPLY = '5.7.1 Talking before the greeting is refused (RFC 5321 section 3.1: wait for the 220)';

/** The members of smtp-server's connection this patch uses (they are internal, not in its types). */
interface Connection {
  _server: { options: { maxClients?: number; [GREETING_POLICY]?: GreetingPolicy }; connections: Set<unknown>; _closeTimeout?: unknown };
  _ready: boolean;
  _upgrading: boolean;
  _closing: boolean;
  name: string;
  remoteAddress: string;
  init(): void;
  _setListeners(callback: () => void): void;
  connectionReady(): void;
  send(code: number, data: string, context?: unknown): void;
  close(): void;
  _onCommand(command: Buffer, callback?: () => void): void;
}

let applied = false;

export function greetByPolicy(): void {
  if (applied) return;
  applied = true;
  const proto = SMTPConnection.prototype as unknown as Connection;
  const onCommand = proto._onCommand;

  proto.init = function init(this: Connection) {
    this._setListeners(() => {
      const { maxClients } = this._server.options;
      if (maxClients && this._server.connections.size > maxClients) {
        return this.send(421, `${this.name} Too many connected clients, try again in a moment`, false);
      }
      const policy = this._server.options[GREETING_POLICY];
      // Without a policy keep smtp-server's own fixed pause.
      const delay = policy ? policy.delayFor(this.remoteAddress) : 100;
      if (delay <= 0) return this.connectionReady();
      setTimeout(() => this.connectionReady(), delay).unref();
    });
  };

  proto._onCommand = function _onCommand(this: Connection, command: Buffer, callback?: () => void) {
    const policy = this._server.options[GREETING_POLICY];
    if (policy && !this._ready && !this._upgrading && !this._closing && !this._server._closeTimeout) {
      policy.earlyTalker(this.remoteAddress);
      this.send(554, EARLY_TALKER_REPLY);
      return this.close();
    }
    return onCommand.call(this, command, callback);
  };
}
