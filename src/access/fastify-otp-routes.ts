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
import { UnauthorizedError } from './errors';
import { freeTextFor } from './fastify-access';
import { requestOtp, verifyOtp, type OtpDeps } from './otp';

const verifyBody = z.object({ challengeId: z.string(), otp: z.string() });

/**
 * The refusal as the caller may read it: a failed OTP send says what 2Factor answered, which may quote the token's
 * phone, and a caller asking for an OTP still sees phones masked (sentTo is masked for the same reason).
 */
function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof AppError) return reply.code(err.httpStatus).send({ error: { code: err.code, message: freeTextFor(request, err.message) } });
  throw err;
}

export function registerOtpRoutes(app: FastifyInstance, deps: OtpDeps, prefix = '/api/access'): void {
  app.post(`${prefix}/otp`, { config: { access: 'read', action: 'otp.request', audit: false } }, async (request, reply) => {
    try {
      if (!request.access) throw new UnauthorizedError();
      return await requestOtp(deps, request.access, request.ip);
    } catch (err) {
      return sendError(request, reply, err);
    }
  });
  app.post(`${prefix}/otp/verify`, { config: { access: 'read', action: 'otp.verify', audit: false } }, async (request, reply) => {
    try {
      if (!request.access) throw new UnauthorizedError();
      const parsed = verifyBody.safeParse(request.body);
      if (!parsed.success) return reply.code(400).send({ error: { code: 'validation', message: 'body: {challengeId, otp} expected' } });
      const grant = await verifyOtp(deps, request.access, parsed.data, request.ip);
      return { challengeId: grant.challengeId, expiresAt: grant.expiresAt.toISOString() };
    } catch (err) {
      return sendError(request, reply, err);
    }
  });
}
