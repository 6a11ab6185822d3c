// Answering the CA's challenges through the web listener: HTTP-01 serves the key authorization
// at http://NAME/.well-known/acme-challenge/TOKEN (RFC 8555 §8.3); TLS-ALPN-01 answers an
// "acme-tls/1" handshake for NAME with a certificate carrying it (RFC 8737 §3). The route and the
// responder are active only while a challenge is pending, so with web.http auto port 80 is open
// for the seconds of a validation only.
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Context } from '../context.ts';
import type { WebService } from '../web/service.ts';
import type { ChallengeSolver } from './types.ts';

const PREFIX = '/.well-known/acme-challenge/';

export interface HttpChallenges {
  solver: ChallengeSolver;
  /** Remove the route from the web listener. */
  detach(): void;
}

export function httpChallenges(ctx: Context, web: WebService): HttpChallenges {
  const pending = new Map<string, string>();
  const detach = web.route({
    name: 'acme-http-01',
    schemes: ['http'],
    active: () => pending.size > 0,
    match: (req) => req.path.startsWith(PREFIX),
    handle(req) {
      const token = req.path.slice(PREFIX.length);
      const answer = pending.get(token);
      ctx.log.log(answer ? 'info' : 'warn', answer ? 'acme http-01 challenge served' : 'acme http-01 request for an unknown token', { host: req.host, client: req.client });
      return answer ? { status: 200, type: 'application/octet-stream', body: answer } : { status: 404, body: 'no such challenge\n' };
    },
  });
  return {
    detach,
    solver: {
      type: 'http-01',
      async prepare(_name, challenge, keyAuthorization) {
        pending.set(challenge.token, keyAuthorization);
        await web.refresh();
        if (web.ports().http === undefined) throw new Error('http-01 needs the web listener on web.port, and it is not listening (web.http off or web.port 0?)');
      },
      async cleanup(_name, challenge) {
        pending.delete(challenge.token);
        await web.refresh();
      },
    },
  };
}

export function alpnChallenges(web: WebService): ChallengeSolver {
  const pending = new Map<string, SecureContext>();
  return {
    type: 'tls-alpn-01',
    async prepare(name, _challenge, _keyAuthorization, _authz, alpn) {
      if (!alpn) throw new Error('tls-alpn-01: no challenge certificate was made');
      pending.set(name, createSecureContext({ key: alpn.key, cert: alpn.cert }));
      await web.setAlpnResponder((serverName) => pending.get(serverName));
      if (web.ports().https === undefined) throw new Error('tls-alpn-01 needs the web listener on web.tlsPort, and it is not listening (web.tlsPort 0?)');
    },
    async cleanup(name) {
      pending.delete(name);
      if (pending.size === 0) await web.setAlpnResponder(null);
    },
  };
}
