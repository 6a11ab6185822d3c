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
  /** Not counted against smtp-server's own connection backstop (trusted networks). */
  exempt?(remoteAddress: string): boolean;
  /** Idle timeout (ms) of one connection, by its id; absent: the server's socketTimeout. */
  idleTimeoutFor?(connectionId: string): number;
}

/** The key under which a server's options carry its GreetingPolicy. */
export const GREETING_POLICY = Symbol('yubin.greetingPolicy');

export const EARLY_TALKER_REPLY = '5.7.1 Talking before the greeting is refused (RFC 5321 section 3.1: wait for the 220)';

/** The members of smtp-server's connection this patch uses (they are internal, not in its types). */
interface Connection {
  _server: { options: { maxClients?: number; socketTimeout?: number; [GREETING_POLICY]?: GreetingPolicy }; connections: Set<unknown>; _closeTimeout?: unknown };
  _ready: boolean;
  _upgrading: boolean;
  _closing: boolean;
  name: string;
  id: string;
  remoteAddress: string;
  _socket: { setTimeout(ms: number, cb: () => void): void };
  init(): void;
  _armTimeout(socket?: Connection['_socket']): void;
  _onTimeout(): void;
  _setListeners(callback: () => void): void;
  connectionReady(): void;
  send(code: number, data: string, context?: unknown): void;
  close(): void;
  _onCommand(command: Buffer, callback?: () => void): void;
}

let applied = false;

/** The members this patch replaces or calls; smtp-server is pinned to the version that has them. */
const PATCHED = ['init', '_onCommand', '_armTimeout', '_onTimeout', '_setListeners', 'connectionReady', 'send', 'close'] as const;

export function greetByPolicy(): void {
  if (applied) return;
  applied = true;
  const proto = SMTPConnection.prototype as unknown as Connection;
  // Fail loudly at start, not with a strange session later, if an upgrade renamed what we patch.
  const missing = PATCHED.filter((m) => typeof (proto as unknown as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) throw new Error(`smtp-server is not the version src/smtpd/greeting.ts patches: missing ${missing.join(', ')}`);
  const onCommand = proto._onCommand;

  proto.init = function init(this: Connection) {
    this._setListeners(() => {
      const { maxClients } = this._server.options;
      const policy = this._server.options[GREETING_POLICY];
      // smtp-server's backstop over connections not yet judged (in their greeting pause): never
      // for trusted clients, whom a flood of strangers must not lock out (src/anvil/gate.ts).
      if (maxClients && this._server.connections.size > maxClients && !policy?.exempt?.(this.remoteAddress)) {
        return this.send(421, '4.7.0 Too many connections, try again later');
      }
      // Without a policy keep smtp-server's own fixed pause.
      const delay = policy ? policy.delayFor(this.remoteAddress) : 100;
      if (delay <= 0) return this.connectionReady();
      setTimeout(() => this.connectionReady(), delay).unref();
    });
  };

  // Idle timeouts per connection (src/anvil/: shorter for idle strangers under stress), where
  // smtp-server has one for the whole server. Same steps as its _armTimeout otherwise.
  const armTimeout = proto._armTimeout;
  proto._armTimeout = function _armTimeout(this: Connection, socket = this._socket) {
    const policy = this._server.options[GREETING_POLICY];
    if (!policy?.idleTimeoutFor) return armTimeout.call(this, socket);
    socket.setTimeout(policy.idleTimeoutFor(this.id), () => this._onTimeout());
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
