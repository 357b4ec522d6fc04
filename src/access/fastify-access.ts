/**
 * Access control for the HTTP API, as one onRequest hook installed on the API's fastify instance:
 *   IP allow-list → bearer token → role × route access level (+ OTP grant) → `request.principal` → audit.
 * Routes declare their level in `config: { access: 'read'|'write'|'admin'|'unmasked'|'public', action? }`;
 * a route without one gets `defaultAccess` (admin: deny by default for non-owners). `public` routes
 * (health, provider delivery-report webhooks) skip the allow-list and authentication entirely.
 * Denied requests are answered before their body is read, and logged without it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config';
import type { PrismaClient } from '../db/prisma';
import { recordAudit } from './audit';
import { parseAllowList, type IpMatcher } from './ip-allow';
import { activeGrant } from './otp';
import { decide, maskPhone, type AccessLevel } from './policy';
import { authenticate, type Principal, type TokenDeps } from './tokens';

export type RouteAccess = AccessLevel | 'public';

export interface RequestPrincipal extends Principal {
  ip: string;
  /** Phones in responses must go through `phoneFor(request, phone)`. */
  maskPhones: boolean;
  level: AccessLevel;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Access level of the route (src/access/policy.ts). */
    access?: RouteAccess;
    /** Audit action name (defaults to `METHOD /route/:pattern`). */
    action?: string;
    /** false: the handler writes its own audit entries (e.g. the OTP routes). */
    audit?: boolean;
  }
  interface FastifyRequest {
    principal: RequestPrincipal | null;
  }
}

export interface AccessControlOptions {
  deps: TokenDeps & { prisma: PrismaClient; config: Pick<Config, 'API_TOKEN' | 'API_ALLOW_IPS'> };
  /** Defaults to parsing deps.config.API_ALLOW_IPS when given, else allow all. */
  allowList?: IpMatcher;
  defaultAccess?: RouteAccess;
}

function deny(reply: FastifyReply, status: 401 | 403, code: string, message: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(status).send({ error: { code, message } });
}

export function installAccessControl(app: FastifyInstance, opts: AccessControlOptions): void {
  const allowList = opts.allowList ?? parseAllowList(opts.deps.config.API_ALLOW_IPS);
  const defaultAccess = opts.defaultAccess ?? 'admin';
  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const access = request.routeOptions.config?.access ?? defaultAccess;
    if (access === 'public') return;
    const route = `${request.method} ${request.routeOptions.url ?? '(no route)'}`;
    if (!allowList.allows(request.ip)) {
      // The route pattern, not the raw URL: paths may carry secrets (webhook tokens).
      request.log.warn({ ip: request.ip, route }, 'request from an address outside API_ALLOW_IPS refused');
      return deny(reply, 403, 'ip_not_allowed', 'this address is not allowed to use the API');
    }
    const principal = await authenticate(opts.deps, request.headers.authorization);
    if (!principal) return deny(reply, 401, 'unauthorized', 'missing or invalid API token');
    // Only an owner can hold a grant; skip the lookup for everyone else.
    const needsGrant = principal.role === 'owner' && (access === 'read' || access === 'unmasked');
    const otpGranted = needsGrant ? (await activeGrant(opts.deps, principal.tokenId)) !== null : false;
    const decision = decide(principal.role, access, { otpGranted });
    if (!decision.allow) {
      const message =
        decision.reason === 'otp_required'
          ? 'unmasked message data needs a fresh SMS OTP: POST /api/access/otp, then /api/access/otp/verify'
          : `role ${principal.role} may not ${access} here`;
      return deny(reply, 403, decision.reason ?? 'forbidden', message);
    }
    request.principal = { ...principal, ip: request.ip, maskPhones: decision.maskPhones, level: access };
    if (decision.audit && request.routeOptions.config?.audit !== false) {
      const params = request.params as Record<string, string> | undefined;
      await recordAudit(opts.deps, {
        tokenId: principal.tokenId,
        action: request.routeOptions.config?.action ?? route,
        target: params?.id ?? null,
        ip: request.ip,
        details: { route, level: access, role: principal.role, unmasked: !decision.maskPhones },
      });
    }
  });
}

/** The phone as this request may see it. */
export function phoneFor(request: FastifyRequest, phone: string): string {
  return request.principal && !request.principal.maskPhones ? phone : maskPhone(phone);
}
