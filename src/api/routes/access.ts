/**
 * GET /api/access/me: what the calling token is, so the dashboard offers only what it may do (a viewer was shown
 * Start, Cancel and the upload form, each answered 403) and, for an owner with a registered phone, the SMS OTP.
 */
import type { FastifyInstance } from 'fastify';
import { activeGrant } from '../../access/otp';
import { UnauthorizedError } from '../../access/errors';
import type { ApiDeps } from '../deps';
import { errorResponses } from './schemas';

export interface AccessInfo {
  role: 'owner' | 'operator' | 'viewer';
  /** Whether this caller's answers show phone numbers masked. */
  phonesMasked: boolean;
  otp: {
    /** The second factor can be asked for: OTP configured (a 2Factor key), an owner role token with a phone. */
    available: boolean;
    /** When the current grant of this token at this address ends (ISO), or null. */
    grantedUntil: string | null;
  };
}

export function registerAccessInfoRoute(app: FastifyInstance, deps: ApiDeps, opts: { otpConfigured: boolean }): void {
  const { prisma } = deps.container;
  app.get(
    '/api/access/me',
    // Read by the dashboard on every sign-in and page load: not an access to data worth an audit entry.
    { config: { audit: false }, schema: { tags: ['access'], summary: 'The calling token: role, phone masking, SMS OTP availability', response: errorResponses } },
    async (req): Promise<AccessInfo> => {
      const access = req.access;
      if (!access) throw new UnauthorizedError();
      let available = false;
      let grantedUntil: string | null = null;
      if (opts.otpConfigured && access.role === 'owner' && access.tokenId) {
        const token = await prisma.apiToken.findUnique({ where: { id: access.tokenId }, select: { phone: true, revokedAt: true } });
        available = Boolean(token?.phone) && !token?.revokedAt;
        grantedUntil = (await activeGrant(deps.container, access.tokenId, req.ip))?.expiresAt.toISOString() ?? null;
      }
      return { role: access.role, phonesMasked: access.maskPhones, otp: { available, grantedUntil } };
    },
  );
}
