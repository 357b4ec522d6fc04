/**
 * Second factor for unmasked message data: an SMS OTP to the token owner's registered phone, sent and
 * checked through 2Factor's OTP API behind the `OtpSender` port. A verified challenge becomes a grant
 * valid for OTP_GRANT_TTL_SECONDS. Each challenge verifies at most once: the provider session is claimed
 * in the same UPDATE that records the grant, so a replayed OTP (even a concurrent one) fails.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config';
import type { PrismaClient } from '../db/prisma';
import { ValidationError } from '../errors';
import { recordAudit } from './audit';
import { ForbiddenError, OtpError, OtpRateLimitError } from './errors';
import { maskPhone, type Role } from './policy';

export type OtpVerdict = 'matched' | 'mismatch' | 'expired';

/** Port implemented by the 2Factor client (provider team) and by twofactor-otp.ts. */
export interface OtpSender {
  /** Sends an auto-generated OTP; resolves to the provider's session id. */
  sendOtp(phone: string, template?: string): Promise<string>;
  verifyOtp(session: string, otp: string): Promise<OtpVerdict>;
}

export interface OtpDeps {
  prisma: PrismaClient;
  config: Pick<Config, 'OTP_GRANT_TTL_SECONDS' | 'OTP_TEMPLATE'>;
  otp: OtpSender;
}

/** A challenge older than this cannot be verified any more (2Factor's own OTP lifetime is similar). */
export const CHALLENGE_TTL_MS = 10 * 60_000;
/** Wrong guesses allowed per challenge before it is burnt. */
export const MAX_ATTEMPTS = 5;
/** OTP SMS per token per CHALLENGE_TTL_MS: each one costs a credit and pesters the owner's phone. */
export const MAX_CHALLENGES = 5;
/**
 * Wrong codes per token per FAILURE_WINDOW_MS, over all its challenges. The two limits above still let a stolen owner
 * token guess 25 codes every 10 minutes, 3,600 a day: a 4-digit OTP (2Factor sends 4 to 6) fell within a day about
 * one time in three. A real owner mistypes a few times a day; past this, verification waits for the window to move on.
 */
export const MAX_FAILED_PER_WINDOW = 20;
export const FAILURE_WINDOW_MS = 24 * 60 * 60_000;

export interface OtpChallenge {
  challengeId: string;
  /** Masked destination, e.g. +91******3210. */
  sentTo: string;
}

/** Who asks: the token (null = legacy API_TOKEN, which has no phone) and its role. */
export interface OtpCaller {
  tokenId: string | null;
  role: Role;
}

export async function requestOtp(deps: OtpDeps, who: OtpCaller, ip?: string | null): Promise<OtpChallenge> {
  if (!who.tokenId) throw new ForbiddenError('the legacy API_TOKEN has no registered phone; create a token with --phone');
  if (who.role !== 'owner') throw new ForbiddenError(`role ${who.role} cannot see unmasked message data`);
  const token = await deps.prisma.apiToken.findUnique({ where: { id: who.tokenId }, select: { phone: true, revokedAt: true } });
  if (!token || token.revokedAt) throw new ForbiddenError('token revoked');
  if (!token.phone) throw new ForbiddenError('this token has no registered phone; create one with `bulksms token create --phone`');
  const tokenId = who.tokenId;
  const phone = token.phone;
  // The challenge is reserved (counted and recorded) under the token row's lock, then sent: counted outside a lock,
  // 20 parallel requests all passed the count and sent 17 SMS against a budget of 5. The send itself stays outside
  // the transaction: a slow provider would outlast it, and an SMS sent for a row rolled back is paid for, uncounted
  // and unverifiable. Until the send answers, the reserved row's session id is a placeholder no OTP can match.
  const row = await deps.prisma.$transaction(
    async (tx) => {
      await tx.$queryRaw`SELECT id FROM api_tokens WHERE id = ${tokenId}::uuid FOR UPDATE`;
      const recent = await tx.otpGrant.count({ where: { tokenId, requestedAt: { gt: new Date(Date.now() - CHALLENGE_TTL_MS) } } });
      if (recent >= MAX_CHALLENGES) throw new OtpRateLimitError();
      return tx.otpGrant.create({ data: { tokenId, phone, sessionId: `reserved:${randomUUID()}`, ip: ip ?? null }, select: { id: true } });
    },
    { maxWait: 10_000, timeout: 10_000 },
  );
  // A failed send keeps its reservation: the SMS may have gone out all the same (a timeout after the provider
  // took it), and the budget exists to bound what reaches the phone.
  const sessionId = await deps.otp.sendOtp(phone, deps.config.OTP_TEMPLATE);
  await deps.prisma.otpGrant.update({ where: { id: row.id }, data: { sessionId } });
  await recordAudit(deps, { tokenId: who.tokenId, action: 'otp.request', target: row.id, ip });
  return { challengeId: row.id, sentTo: maskPhone(token.phone) };
}

export interface OtpGrant {
  challengeId: string;
  expiresAt: Date;
}

export async function verifyOtp(
  deps: OtpDeps,
  who: Pick<OtpCaller, 'tokenId'>,
  input: { challengeId: string; otp: string },
  ip?: string | null,
): Promise<OtpGrant> {
  if (!/^\d{4,8}$/.test(input.otp)) throw new ValidationError('otp: expected 4-8 digits', 'otp');
  // The UUID's shape exactly: any 36 hex digits and dashes passed, and PostgreSQL's refusal of the value was a 500.
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(input.challengeId)) throw new ValidationError('challengeId: not a UUID', 'challengeId');
  const challenge = who.tokenId
    ? await deps.prisma.otpGrant.findFirst({ where: { id: input.challengeId, tokenId: who.tokenId } })
    : null;
  if (!challenge) throw new OtpError('otp_unknown', 'no such OTP challenge for this token');
  const fail = async (failure: 'otp_mismatch' | 'otp_expired' | 'otp_used', message: string): Promise<never> => {
    await recordAudit(deps, { tokenId: who.tokenId, action: 'otp.verify.failed', target: challenge.id, ip, details: { failure } });
    throw new OtpError(failure, message);
  };
  if (challenge.verifiedAt) return fail('otp_used', 'this OTP was already used; request a new one');
  if (Date.now() - challenge.requestedAt.getTime() > CHALLENGE_TTL_MS) return fail('otp_expired', 'the OTP expired; request a new one');
  // Count the attempt before asking the provider, so parallel guessing cannot exceed the budget: under the token row's
  // lock, so parallel guesses on several challenges cannot all pass the token's daily count either.
  const tokenId = challenge.tokenId;
  const counted = await deps.prisma.$transaction(
    async (tx) => {
      await tx.$queryRaw`SELECT id FROM api_tokens WHERE id = ${tokenId}::uuid FOR UPDATE`;
      // Every attempt of the window's challenges failed, but the one that verified a challenge.
      const [{ failed }] = await tx.$queryRaw<[{ failed: number }]>`
        SELECT COALESCE(sum(attempts - CASE WHEN verified_at IS NULL THEN 0 ELSE 1 END), 0)::int AS failed
          FROM otp_grants WHERE token_id = ${tokenId}::uuid AND requested_at > ${new Date(Date.now() - FAILURE_WINDOW_MS)}`;
      if (failed >= MAX_FAILED_PER_WINDOW) return 'locked' as const;
      const updated = await tx.otpGrant.updateMany({
        where: { id: challenge.id, verifiedAt: null, attempts: { lt: MAX_ATTEMPTS } },
        data: { attempts: { increment: 1 } },
      });
      return updated.count;
    },
    { maxWait: 10_000, timeout: 10_000 },
  );
  if (counted === 'locked') {
    await recordAudit(deps, { tokenId: who.tokenId, action: 'otp.verify.locked', target: challenge.id, ip });
    throw new OtpRateLimitError(`${MAX_FAILED_PER_WINDOW} wrong OTPs for this token in 24 hours; verification is refused until the oldest are a day old`);
  }
  if (counted === 0) return fail('otp_expired', 'too many attempts for this OTP; request a new one');

  let verdict: Awaited<ReturnType<typeof deps.otp.verifyOtp>>;
  try {
    verdict = await deps.otp.verifyOtp(challenge.sessionId, input.otp);
  } catch (err) {
    // No verdict (2Factor unreachable, an error answer): the attempt is given back. The budget bounds the verdicts a
    // guesser can read, and this one read none; counted, an outage of a few minutes used up the owner's day of attempts.
    await deps.prisma.otpGrant.updateMany({ where: { id: challenge.id, attempts: { gt: 0 } }, data: { attempts: { decrement: 1 } } });
    throw err;
  }
  if (verdict === 'mismatch') return fail('otp_mismatch', 'wrong OTP');
  if (verdict === 'expired') return fail('otp_expired', 'the OTP expired; request a new one');

  const expiresAt = new Date(Date.now() + deps.config.OTP_GRANT_TTL_SECONDS * 1000);
  const claimed = await deps.prisma.otpGrant.updateMany({
    where: { id: challenge.id, verifiedAt: null },
    // The grant is this address's: a stolen token used elsewhere during it still sees phones masked.
    data: { verifiedAt: new Date(), expiresAt, ip: ip ?? null },
  });
  if (claimed.count === 0) return fail('otp_used', 'this OTP was already used; request a new one');
  await recordAudit(deps, { tokenId: who.tokenId, action: 'otp.verify', target: challenge.id, ip, details: { expiresAt: expiresAt.toISOString() } });
  return { challengeId: challenge.id, expiresAt };
}

/** The latest unexpired grant of a token verified from this client address, or null. */
export async function activeGrant(deps: { prisma: PrismaClient }, tokenId: string | null, ip: string): Promise<OtpGrant | null> {
  if (!tokenId) return null;
  const row = await deps.prisma.otpGrant.findFirst({
    where: { tokenId, ip, expiresAt: { gt: new Date() } },
    orderBy: { expiresAt: 'desc' },
    select: { id: true, expiresAt: true },
  });
  return row ? { challengeId: row.id, expiresAt: row.expiresAt! } : null;
}
