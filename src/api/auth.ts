/**
 * Authentication for the HTTP API, in one place so DB-backed tokens with roles (issue 9) plug in as another
 * `TokenVerifier`. Today: one static bearer token (`API_TOKEN`), compared in constant time. Without a
 * configured token, only loopback clients are let in (and `serve` refuses to bind anything else).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DeniedAccessRecorder, DenialReason } from '../access/denied-audit';
import { UnauthorizedError } from '../access/errors';
import type { IpMatcher } from '../access/ip-allow';

export type Role = 'owner' | 'operator' | 'viewer';

export interface Principal {
  /** How the caller got in: the static API_TOKEN, a DB token, or unauthenticated loopback access. */
  kind: 'static-token' | 'db-token' | 'loopback';
  role: Role;
  tokenId?: string;
}

/** Resolves a presented bearer token to a principal, or null when this verifier does not know it. */
export type TokenVerifier = (token: string) => Promise<Principal | null>;

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Constant-time string equality: both sides are hashed first so lengths do not leak either. */
export function secretEquals(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

export function staticTokenVerifier(expected: string): TokenVerifier {
  return async (token) => (secretEquals(token, expected) ? { kind: 'static-token', role: 'owner' } : null);
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase();
  return a === 'localhost' || a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
}

export interface AuthOptions {
  /** Tried in order: the static API_TOKEN and the role tokens of src/access/tokens.ts. */
  verifiers: TokenVerifier[];
  /** No API_TOKEN configured: loopback clients without a token get in as owner. */
  loopbackWithoutToken: boolean;
  /** Path prefixes that need a principal. */
  protectedPrefixes: readonly string[];
  /**
   * Prefixes where a `bulksms_token` cookie is accepted too: bull-board's UI fetches its own API without our
   * Authorization header. The dashboard sets the cookie (SameSite=Strict, path-scoped) from the stored token.
   */
  cookiePrefixes: readonly string[];
  /** From API_ALLOW_IPS (an empty list allows any address; the token still applies). */
  allowIp?: IpMatcher;
  /** Audits each refusal as `access.denied` (rate-limited: src/access/denied-audit.ts). */
  deniedAudit?: DeniedAccessRecorder;
  /** The id of a refused token when it is a known one (revoked), for its audit entry; never the token itself. */
  identifyToken?: (token: string) => Promise<string | null>;
}

/** Why a request was not let in: the answer, and the reason its audit entry gives. */
interface Refusal {
  error: UnauthorizedError;
  reason: DenialReason;
  /** The token presented, to identify (identifyToken) if the refusal gets an entry. */
  token?: string;
}

const refusal = (reason: DenialReason, message: string, token?: string): Refusal => ({
  error: new UnauthorizedError(message),
  reason,
  ...(token !== undefined ? { token } : {}),
});

export const TOKEN_COOKIE = 'bulksms_token';

/** Whether a path is one of the prefixes or below one (`/api` and `/api/lists`, not `/apix`). */
export function isProtectedPath(prefixes: readonly string[], path: string): boolean {
  return prefixes.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`));
}

/** A path %-decoded as the router decodes it to match a route; as it is when it holds a malformed escape. */
function routedPath(raw: string): string {
  try {
    return decodeURI(raw);
  } catch {
    return raw;
  }
}

export function registerAuth(app: FastifyInstance, opts: AuthOptions): void {
  app.addHook('onRequest', async (req, reply) => {
    // Decide on the route that matched, not on the raw URL: the router decodes `/%61pi/lists` to `/api/lists`.
    const path = req.routeOptions.url ?? req.url.split('?', 1)[0]!;
    const raw = req.url.split('?', 1)[0]!;
    // A request that matched no route is decided on its path as the router reads it too: `PUT /%61pi/campaigns` is
    // answered 405 naming the methods of /api/campaigns (error-handler.ts), which needs a token like the route itself.
    const read = routedPath(raw);
    if (![path, raw, read].some((p) => isProtectedPath(opts.protectedPrefixes, p))) return;
    // req.ip: the peer, or with API_TRUST_PROXY the client a trusted proxy forwards for (server.ts).
    if (opts.allowIp && !opts.allowIp.allows(req.ip)) {
      // The route pattern, never the raw path: `/api/suppressions/%2B9198…` is a recipient's number (as the access
      // module's own refusal logs it, and as the README promises: "address + route pattern").
      const route = `${req.method} ${req.routeOptions.url ?? '(no route)'}`;
      req.log.warn({ ip: req.ip, route }, 'request refused: client address not in API_ALLOW_IPS');
      await opts.deniedAudit?.record(req, { status: 403, reason: 'ip_not_allowed' });
      return reply.status(403).send({ error: { code: 'forbidden', message: 'client address is not in API_ALLOW_IPS' } });
    }
    const principal = await authenticate(req, opts, opts.cookiePrefixes.some((p) => path.startsWith(p)));
    if ('error' in principal) {
      const { identifyToken } = opts;
      const token = principal.token;
      await opts.deniedAudit?.record(req, {
        status: 401,
        reason: principal.reason,
        ...(identifyToken && token !== undefined ? { identify: () => identifyToken(token) } : {}),
      });
      return deny(reply, principal.error);
    }
    req.principal = principal;
  });
}

/** Methods a page elsewhere could use to change something here. */
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function authenticate(req: FastifyRequest, opts: AuthOptions, allowCookie: boolean): Promise<Principal | Refusal> {
  const presented = presentedToken(req, allowCookie);
  const token = presented?.token ?? null;
  // The browser attaches the cookie to whatever request a page makes it send, and SameSite only keeps out other
  // sites: a page on another port or a sibling subdomain could form-POST a job into the send queue through bull-board.
  const elsewhere = presented?.fromCookie && UNSAFE_METHODS.has(req.method) ? pageElsewhere(req) : null;
  if (elsewhere) return refusal('cross_site', `${elsewhere}; the token cookie only works for this site's own pages`);
  // Without API_TOKEN, loopback clients need no token (role tokens from `bulksms token create` still work).
  if (!token && opts.loopbackWithoutToken) {
    // The client's address, not a local proxy's: through a trusted proxy on this host, an outside caller is not local.
    if (!isLoopbackAddress(req.ip)) return refusal('not_loopback', 'API_TOKEN is not configured: only loopback clients are allowed');
    const refused = browserFromElsewhere(req);
    return refused ? refusal('cross_site', `${refused}; set API_TOKEN to use the API from there`) : { kind: 'loopback', role: 'owner' };
  }
  if (!token) return refusal('missing_token', 'missing bearer token (Authorization: Bearer <API_TOKEN>)');
  for (const verify of opts.verifiers) {
    const principal = await verify(token);
    if (principal) return principal;
  }
  return refusal('invalid_token', 'invalid bearer token', token);
}

/** A Host header's host name (port and IPv6 brackets removed). */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(host);
  return (bracketed ? bracketed[1]! : host.replace(/:\d+$/, '')).toLowerCase();
}

/**
 * Token-less loopback access means "whoever runs on this machine", not "any web page this machine's browser opens".
 * A page elsewhere can make the browser send simple requests here (a form POST that cancels a campaign), and with
 * DNS rebinding read the answers under its own name. So without a token: the Host must be a loopback name, and a
 * request that names an Origin must come from this same host (the dashboard's do). Why refused, or null.
 */
function browserFromElsewhere(req: FastifyRequest): string | null {
  const host = req.headers.host ?? '';
  // A name is loopback only as `localhost` or a literal loopback address: "127.evil.example" resolves wherever
  // its owner likes (DNS rebinding), it merely starts like one.
  const name = hostName(host);
  if (name !== 'localhost' && !(isIP(name) && isLoopbackAddress(name))) return `Host "${host.slice(0, 80)}" is not a loopback name`;
  return pageElsewhere(req);
}

/** A request that names an Origin other than the host it was sent to (a web page elsewhere made it): why, or null. */
function pageElsewhere(req: FastifyRequest): string | null {
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return 'the request comes from a web page elsewhere (Origin unreadable)';
  }
  return originHost.toLowerCase() === (req.headers.host ?? '').toLowerCase() ? null : `the request comes from a web page elsewhere (Origin ${origin.slice(0, 80)})`;
}

/**
 * Answers here rather than throwing: plugins with their own error handler (bull-board) would turn a throw into a 500.
 * The body is never read; the connection closes once the answer is out (error-handler.ts, for every early answer).
 */
function deny(reply: FastifyReply, err: UnauthorizedError): FastifyReply {
  return reply
    .status(401)
    .header('www-authenticate', 'Bearer realm="bulksms"')
    .send({ error: { code: err.code, message: err.message } });
}

function presentedToken(req: FastifyRequest, allowCookie: boolean): { token: string; fromCookie: boolean } | null {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? { token: match[1]!, fromCookie: false } : null;
  }
  if (!allowCookie) return null;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name !== TOKEN_COOKIE) continue;
    // A malformed escape is an invalid token (401), not a crash in the auth hook (500).
    const value = rest.join('=');
    try {
      return { token: decodeURIComponent(value), fromCookie: true };
    } catch {
      return { token: value, fromCookie: true };
    }
  }
  return null;
}
