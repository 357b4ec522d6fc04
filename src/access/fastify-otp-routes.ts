/**
 * The two HTTP endpoints of the second factor, for the API server to register next to
 * installAccessControl:
 *   POST {prefix}/otp          → sends an SMS OTP to the calling owner token's phone → {challengeId, sentTo}
 *   POST {prefix}/otp/verify   {challengeId, otp} → {challengeId, expiresAt}; afterwards the token sees
 *                              unmasked phones on `read` routes and may use `unmasked` routes until expiresAt.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors';
import type { DeniedAccessRecorder } from './denied-audit';
import { ForbiddenError, OtpError, OtpUnavailableError, UnauthorizedError } from './errors';
import { freeTextFor } from './fastify-access';
import { requestOtp, verifyOtp, type OtpDeps } from './otp';

const verifyBody = z.object({ challengeId: z.string(), otp: z.string() });

/** Without a 2Factor key: an owner is told so; other roles are refused as requestOtp refuses them. */
function unavailable(role: string): Error {
  return role === 'owner' ? new OtpUnavailableError() : new ForbiddenError(`role ${role} cannot see unmasked message data`);
}

/**
 * The refusal as the caller may read it: a failed OTP send says what 2Factor answered, which may quote the token's
 * phone, and a caller asking for an OTP still sees phones masked (sentTo is masked for the same reason).
 */
function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof AppError) return reply.code(err.httpStatus).send({ error: { code: err.code, message: freeTextFor(request, err.message) } });
  throw err;
}

export interface OtpRouteOptions {
  prefix?: string;
  /**
   * Where a refused OTP request is audited as `access.denied` (share the API's): the route is open to every role and
   * the refusal (a viewer or operator, the legacy API_TOKEN, a token without a phone, a verification naming another
   * token's challenge) is requestOtp's or verifyOtp's own, so it went through no access hook and left no trace.
   */
  deniedAudit?: DeniedAccessRecorder;
}

/**
 * `deps` null: the server has no 2Factor key, and both routes answer 503 saying so (to an owner; anyone else is refused
 * as ever). Left unregistered, an integrator's OTP request was a 404 "no route POST /api/access/otp", as if mistyped.
 */
export function registerOtpRoutes(app: FastifyInstance, deps: OtpDeps | null, opts: OtpRouteOptions = {}): void {
  const prefix = opts.prefix ?? '/api/access';
  const refused = async (request: FastifyRequest, err: unknown) => {
    const tokenId = request.access?.tokenId ?? null;
    if (err instanceof ForbiddenError) await opts.deniedAudit?.record(request, { status: 403, reason: 'forbidden', tokenId });
    // A challenge id that is not this token's: verifyOtp has no row of the caller's to record the failure against (the
    // victim's must not be charged an attempt), so the probe is audited here, rate-limited like every refusal. The
    // entry names neither the OTP tried nor the challenge id.
    if (err instanceof OtpError && err.failure === 'otp_unknown') await opts.deniedAudit?.record(request, { status: 400, reason: 'unknown_otp_challenge', tokenId });
  };
  app.post(`${prefix}/otp`, { config: { access: 'read', action: 'otp.request', audit: false } }, async (request, reply) => {
    try {
      if (!request.access) throw new UnauthorizedError();
      if (!deps) throw unavailable(request.access.role);
      return await requestOtp(deps, request.access, request.ip);
    } catch (err) {
      await refused(request, err);
      return sendError(request, reply, err);
    }
  });
  app.post(`${prefix}/otp/verify`, { config: { access: 'read', action: 'otp.verify', audit: false } }, async (request, reply) => {
    try {
      if (!request.access) throw new UnauthorizedError();
      if (!deps) throw unavailable(request.access.role);
      const parsed = verifyBody.safeParse(request.body);
      if (!parsed.success) return reply.code(400).send({ error: { code: 'validation', message: 'body: {challengeId, otp} expected' } });
      const grant = await verifyOtp(deps, request.access, parsed.data, request.ip);
      return { challengeId: grant.challengeId, expiresAt: grant.expiresAt.toISOString() };
    } catch (err) {
      await refused(request, err);
      return sendError(request, reply, err);
    }
  });
}
