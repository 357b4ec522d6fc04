/**
 * Access control for the HTTP API. Routes declare their level in
 * `config: { access: 'read'|'write'|'admin'|'unmasked'|'public', action?, audit? }`; the hooks here turn
 * the caller's role (+ OTP grant) into allow/deny, phone masking and audit entries, and leave the
 * outcome on `request.access`.
 *
 * Two ways to install it:
 * - `installAccessControl(app, …)`: the whole pipeline in one onRequest hook —
 *   IP allow-list → bearer token → role × route level → `request.access` → audit (written in preHandler, once
 *   the request passed validation). A refusal at any step is audited as `access.denied` (rate-limited, denied-audit.ts).
 * - `installRoutePermissions(app, { principalOf })`: only the role × route part, after an existing
 *   authentication hook (src/api/auth.ts) that already checked the IP and resolved the token (and audits its own
 *   refusals through the same DeniedAccessRecorder).
 * Denied requests are answered before their body is read, and logged without it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config';
import type { PrismaClient } from '../db/prisma';
import { routeKey, type RouteRule } from './api-routes';
import { recordAudit, recordOutcome, type AuditEntry, type AuditNote } from './audit';
import { deniedAccessRecorder, type DeniedAccessRecorder } from './denied-audit';
import { parseAllowList, type IpMatcher } from './ip-allow';
import { activeGrant } from './otp';
import { decide, maskDigitRuns, maskPhone, type AccessLevel, type Role } from './policy';
import { authenticate, extractBearer, revokedTokenId } from './tokens';

export type RouteAccess = AccessLevel | 'public';

/** What the access check decided for this request. */
export interface AccessContext {
  /** null for the legacy API_TOKEN (or unauthenticated loopback access). */
  tokenId: string | null;
  role: Role;
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
    access: AccessContext | null;
  }
}

export interface AccessDeps {
  prisma: PrismaClient;
  config: Pick<Config, 'API_TOKEN' | 'API_ALLOW_IPS'>;
}

/** The minimal caller identity the permission check needs (src/api/auth.ts's Principal fits). */
export interface CallerIdentity {
  role: Role;
  tokenId?: string | null;
}

function deny(reply: FastifyReply, status: 401 | 403, code: string, message: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="bulksms"');
  // The body is never read: close rather than wait on whatever the client still sends (see src/api/auth.ts).
  return reply.code(status).header('connection', 'close').send({ error: { code, message } });
}

function routeOf(request: FastifyRequest): string {
  // The route pattern, never the raw URL: paths may carry secrets (webhook tokens) or phone numbers.
  return `${request.method} ${request.routeOptions.url ?? '(no route)'}`;
}

/** A route's own config wins; then the route table; then the default. */
function ruleFor(request: FastifyRequest, routes: Readonly<Record<string, RouteRule>> | undefined, fallback: RouteAccess): RouteRule {
  const config = request.routeOptions.config;
  const listed = routes?.[routeKey(request.method, request.routeOptions.url)];
  return { access: config?.access ?? listed?.access ?? fallback, action: listed?.action };
}

/** Role × route level (+ OTP grant) → request.access, or a 403 reply. Returns false when it replied. */
async function authorise(
  deps: AccessDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  who: CallerIdentity,
  access: AccessLevel,
  tableAction: string | undefined,
  denied: DeniedAccessRecorder,
): Promise<boolean> {
  const tokenId = who.tokenId ?? null;
  // Only an owner can hold a grant; skip the lookup for everyone else.
  const needsGrant = who.role === 'owner' && tokenId !== null && (access === 'read' || access === 'unmasked');
  const otpGranted = needsGrant ? (await activeGrant(deps, tokenId, request.ip)) !== null : false;
  const decision = decide(who.role, access, { otpGranted });
  if (!decision.allow) {
    const message =
      decision.reason === 'otp_required'
        ? 'unmasked message data needs a fresh SMS OTP: POST /api/access/otp, then POST /api/access/otp/verify'
        : `role ${who.role} may not use this route (${access})`;
    await denied.record(request, { status: 403, reason: decision.reason ?? 'forbidden', tokenId });
    deny(reply, 403, decision.reason ?? 'forbidden', message);
    return false;
  }
  request.access = { tokenId, role: who.role, ip: request.ip, maskPhones: decision.maskPhones, level: access };
  if (decision.audit && request.routeOptions.config?.audit !== false) {
    pendingAudits.set(request, {
      tokenId,
      action: request.routeOptions.config?.action ?? tableAction ?? routeOf(request),
      ip: request.ip,
      details: { route: routeOf(request), level: access, role: who.role, unmasked: !decision.maskPhones },
    });
  }
  return true;
}

/** The audit entry a request earned in onRequest, written once its params and body passed validation. */
const pendingAudits = new WeakMap<FastifyRequest, Omit<AuditEntry, 'target'>>();
/** What the handler added to its request's entry (auditNote), written with the outcome. */
const auditNotes = new WeakMap<FastifyRequest, AuditNote>();

/**
 * Lets a handler name what its action made or touched where the route's `:id` cannot: the campaign a create made, the
 * list an upload became, the (masked) number a suppression added. Never a phone number in clear, never a secret.
 */
export function auditNote(request: FastifyRequest, note: AuditNote): void {
  const seen = auditNotes.get(request);
  auditNotes.set(request, { ...seen, ...note, details: { ...seen?.details, ...note.details } });
}

/**
 * Writes the audit entry in preHandler, not onRequest: a request refused by validation (a malformed id, a NUL in
 * the path, a bad body) did nothing and is no action to record. Written in onRequest, an id holding a NUL failed
 * the audit insert (PostgreSQL text) as a 500 before the NUL guard could answer 400, and every malformed id was
 * logged as a campaign action on a target that cannot exist.
 */
function installAuditWriter(app: FastifyInstance, deps: Pick<AccessDeps, 'prisma'>): void {
  const written = new WeakMap<FastifyRequest, bigint>();
  app.addHook('preHandler', async (request) => {
    const entry = pendingAudits.get(request);
    if (!entry) return;
    pendingAudits.delete(request);
    const params = request.params as Record<string, string> | undefined;
    written.set(request, await recordAudit(deps, { ...entry, target: params?.id ?? null }));
  });
  // The outcome, once answered: a refused action (404, 409, 503) is recorded as tried, not as done.
  app.addHook('onResponse', async (request, reply) => {
    const id = written.get(request);
    if (id === undefined) return;
    written.delete(request);
    const note = auditNotes.get(request);
    auditNotes.delete(request);
    await recordOutcome(deps, id, reply.statusCode, note).catch((err: unknown) => request.log.warn({ err, auditId: id.toString() }, 'could not record the outcome of an audited request'));
  });
}

export interface AccessControlOptions {
  deps: AccessDeps;
  /** Defaults to parsing deps.config.API_ALLOW_IPS (empty = allow all). */
  allowList?: IpMatcher;
  /** Level of routes that declare none: `admin` = deny by default for non-owners. */
  defaultAccess?: RouteAccess;
  /** Route table (`METHOD /pattern` → rule), e.g. API_ROUTE_ACCESS; a route's config.access wins. */
  routes?: Readonly<Record<string, RouteRule>>;
  /** Where refusals are audited; default: one of its own, closed with the app. */
  deniedAudit?: DeniedAccessRecorder;
}

/** The recorder given, or one of the app's own (its last counts written when the app closes). */
function recorderFor(app: FastifyInstance, deps: Pick<AccessDeps, 'prisma'>, given: DeniedAccessRecorder | undefined): DeniedAccessRecorder {
  if (given) return given;
  const own = deniedAccessRecorder(deps);
  app.addHook('onClose', () => own.close());
  return own;
}

/**
 * The full pipeline. `public` routes (health, provider delivery-report webhooks) skip the allow-list
 * and authentication entirely.
 */
export function installAccessControl(app: FastifyInstance, opts: AccessControlOptions): void {
  const allowList = opts.allowList ?? parseAllowList(opts.deps.config.API_ALLOW_IPS);
  const defaultAccess = opts.defaultAccess ?? 'admin';
  const denied = recorderFor(app, opts.deps, opts.deniedAudit);
  app.decorateRequest('access', null);
  installAuditWriter(app, opts.deps);
  app.addHook('onRequest', async (request, reply) => {
    const { access, action } = ruleFor(request, opts.routes, defaultAccess);
    if (access === 'public') return;
    if (!allowList.allows(request.ip)) {
      request.log.warn({ ip: request.ip, route: routeOf(request) }, 'request from an address outside API_ALLOW_IPS refused');
      await denied.record(request, { status: 403, reason: 'ip_not_allowed' });
      return deny(reply, 403, 'ip_not_allowed', 'this address is not allowed to use the API');
    }
    const principal = await authenticate(opts.deps, request.headers.authorization);
    if (!principal) {
      const bearer = extractBearer(request.headers.authorization);
      await denied.record(request, {
        status: 401,
        reason: bearer ? 'invalid_token' : 'missing_token',
        ...(bearer ? { identify: () => revokedTokenId(opts.deps, bearer) } : {}),
      });
      return deny(reply, 401, 'unauthorized', 'missing or invalid API token');
    }
    await authorise(opts.deps, request, reply, principal, access, action, denied);
  });
}

export interface RoutePermissionOptions {
  deps: Pick<AccessDeps, 'prisma'>;
  /** The identity an earlier auth hook attached (e.g. `(req) => req.principal`); undefined = unprotected route. */
  principalOf: (request: FastifyRequest) => CallerIdentity | undefined | null;
  defaultAccess?: RouteAccess;
  routes?: Readonly<Record<string, RouteRule>>;
  /** Where refusals are audited (share the auth hook's); default: one of its own, closed with the app. */
  deniedAudit?: DeniedAccessRecorder;
}

/** Only the role × route check, for servers that authenticate in their own hook (registered before this). */
export function installRoutePermissions(app: FastifyInstance, opts: RoutePermissionOptions): void {
  const defaultAccess = opts.defaultAccess ?? 'admin';
  const denied = recorderFor(app, opts.deps, opts.deniedAudit);
  app.decorateRequest('access', null);
  installAuditWriter(app, opts.deps);
  app.addHook('onRequest', async (request, reply) => {
    // A path that is no route does nothing and gets its 404 (registerEarlyNotFound, next): taken for a route of the
    // owner-only default level, a viewer's typo was a 403 "may not use this route (admin)" and an access.denied entry.
    // The authentication hook before this one still wants a token for it.
    if (request.routeOptions.url === undefined) return;
    const { access, action } = ruleFor(request, opts.routes, defaultAccess);
    const who = opts.principalOf(request);
    // No identity means the auth hook let the request through unprotected (health, docs, webhook).
    if (access === 'public' || !who) return;
    await authorise({ ...opts.deps, config: { API_TOKEN: undefined, API_ALLOW_IPS: undefined } }, request, reply, who, access, action, denied);
  });
}

/** Whether this request sees phone numbers masked (all but an owner holding an SMS-OTP grant). */
export function phonesMasked(request: FastifyRequest): boolean {
  return !request.access || request.access.maskPhones;
}

/** The phone as this request may see it. */
export function phoneFor(request: FastifyRequest, phone: string): string {
  return phonesMasked(request) ? maskPhone(phone) : phone;
}

/**
 * Free text that may quote phone numbers, as this request may see it: what 2Factor answered (a message's provider
 * text, and the failure and pause reasons built from it) is the provider's wording, and may name the recipient.
 * Masked like the import's row report (maskDigitRuns) wherever phones are.
 */
export function freeTextFor(request: FastifyRequest, text: string): string;
export function freeTextFor(request: FastifyRequest, text: string | null): string | null;
export function freeTextFor(request: FastifyRequest, text: string | null): string | null {
  return text !== null && phonesMasked(request) ? maskDigitRuns(text) : text;
}
