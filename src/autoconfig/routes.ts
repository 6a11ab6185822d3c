// Client autoconfig as pure handlers: request facts in, status, content type and body out. The
// board's web listener (src/web/, issue 16) mounts them with autoconfigRoutes(); until it exists
// they are tested directly. Nothing here says whether a user exists: every address of a local
// domain gets the same settings, so the documents cannot be used to find out user names.
import type { Context } from '../context.ts';
import { publicDomains } from '../dnsrecords/records.ts';
import { localAddress, type ClientFacts, type ServicePorts } from './facts.ts';
import { thunderbirdConfig } from './thunderbird.ts';
import { autodiscoverError, autodiscoverResponse, requestedAddress } from './autodiscover.ts';
import { mobileconfig } from './mobileconfig.ts';

export interface AutoconfigRequest {
  readonly method: 'GET' | 'HEAD' | 'POST';
  /** Host header, lower case, without port or trailing dot. */
  readonly host: string;
  /** The path, without the query. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** The request body (Autodiscover's POST), at most a few KiB. */
  readonly body?: string;
}

export interface AutoconfigResponse {
  readonly status: number;
  readonly type: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const XML = 'application/xml; charset=utf-8';
const TEXT = 'text/plain; charset=utf-8';
/** Largest Autodiscover request body read (Outlook's is a few hundred bytes). */
export const MAX_BODY = 8192;

const notFound = (why: string): AutoconfigResponse => ({ status: 404, type: TEXT, body: `${why}\n` });

/** The domain a request is about: the one of the address asked for, else the Host minus autoconfig./autodiscover. */
function domainOf(facts: ClientFacts, req: AutoconfigRequest, address?: string): string | undefined {
  if (address) return address.slice(address.indexOf('@') + 1);
  const host = req.host.replace(/^(autoconfig|autodiscover)\./, '');
  return facts.domains.includes(host) ? host : facts.domains.length === 1 || req.host === facts.hostname ? facts.domains[0] : undefined;
}

const isThunderbird = (p: string) => p === '/mail/config-v1.1.xml' || p === '/.well-known/autoconfig/mail/config-v1.1.xml';
const isAutodiscover = (p: string) => p.toLowerCase() === '/autodiscover/autodiscover.xml';
const MOBILECONFIG = /^\/mobileconfig(?:\/([^/?]+?))?(?:\.mobileconfig)?$/;

/** Whether the path is one of ours (the listener answers 404 for the rest). */
export function isAutoconfigPath(path: string): boolean {
  return isThunderbird(path) || isAutodiscover(path) || MOBILECONFIG.test(path);
}

export function handleAutoconfig(facts: ClientFacts, req: AutoconfigRequest): AutoconfigResponse {
  const path = req.path;
  if (isThunderbird(path)) {
    if (req.method === 'POST') return { status: 405, type: TEXT, body: 'GET only\n', headers: { Allow: 'GET, HEAD' } };
    const address = req.query.emailaddress ? localAddress(facts, req.query.emailaddress) : undefined;
    if (req.query.emailaddress && !address) return notFound(`not a domain of this server: ${req.query.emailaddress}`);
    const domain = domainOf(facts, req, address);
    if (!domain) return notFound(`no mail domain ${req.host} here`);
    return { status: 200, type: XML, body: thunderbirdConfig(facts, domain) };
  }
  if (isAutodiscover(path)) {
    const raw = req.method === 'POST' ? requestedAddress(req.body ?? '') : req.query.email;
    const address = localAddress(facts, raw);
    // Outlook reads the error from a 200 answer.
    if (!address) return { status: 200, type: XML, body: autodiscoverError(raw ? `not a domain of this server: ${raw}` : 'no EMailAddress in the request') };
    return { status: 200, type: XML, body: autodiscoverResponse(facts, address) };
  }
  const m = MOBILECONFIG.exec(path);
  if (m) {
    if (req.method === 'POST') return { status: 405, type: TEXT, body: 'GET only\n', headers: { Allow: 'GET, HEAD' } };
    const raw = m[1] ? decodeURIComponent(m[1]) : req.query.email;
    const address = localAddress(facts, raw);
    if (!address) return notFound(raw ? `not an address of this server: ${raw}` : 'ask for /mobileconfig/USER@DOMAIN');
    const body = mobileconfig(facts, address);
    if (!body) return notFound('the board offers no POP3S or no submission port: no profile can describe it');
    return {
      status: 200, type: 'application/x-apple-aspen-config', body,
      headers: { 'Content-Disposition': `attachment; filename="${address.replace(/[^A-Za-z0-9@._-]/g, '_')}.mobileconfig"` },
    };
  }
  return notFound('not found');
}

/** The facts from the running configuration and the ports the listeners really hold. */
export function clientFacts(ctx: Pick<Context, 'store'>, ports: ServicePorts): ClientFacts {
  const s = ctx.store.settings;
  const domains = publicDomains(s.domains);
  return {
    hostname: s.hostname,
    domains: domains.length > 0 ? domains : s.domains,
    displayName: s['autoconfig.displayName'] || (domains[0] ?? s.hostname),
    ports,
  };
}

/** A route as the web listener takes one (src/web/service.ts WebRoute, with query and body). */
export interface AutoconfigRoute {
  readonly name: string;
  readonly schemes: readonly ('http' | 'https')[];
  active(): boolean;
  match(req: Pick<AutoconfigRequest, 'path'>): boolean;
  handle(req: AutoconfigRequest): AutoconfigResponse;
}

/** What the supervisor registers on the web listener: one route for the three formats, on while autoconfig.enabled. */
export function autoconfigRoute(ctx: Pick<Context, 'store'>, ports: () => ServicePorts): AutoconfigRoute {
  return {
    name: 'autoconfig',
    // Thunderbird tries http as well as https; the documents hold no secret.
    schemes: ['http', 'https'],
    active: () => ctx.store.get('autoconfig.enabled'),
    match: (req) => isAutoconfigPath(req.path),
    handle: (req) => handleAutoconfig(clientFacts(ctx, ports()), req),
  };
}
