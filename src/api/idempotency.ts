/**
 * `Idempotency-Key` for POSTs that create something. An integrator whose `POST /api/campaigns` timed out cannot tell
 * whether it was created, and retrying made a second campaign: two drafts at best, two *scheduled* campaigns (each
 * sending to the whole list at `at` or on `cron`) at worst. With the header, the first request's answer is kept (in
 * Redis, fleet-wide, for a day) and a retry with the same key and body gets that answer again, flagged
 * `idempotent-replayed: true`, without creating anything. The same key with another body is a 409, as is a retry
 * while the first is still being processed. Without the header nothing changes.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Redis } from '../db/redis';
import { ConflictError } from '../errors';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** How long an answer is replayed. */
const DONE_TTL_S = 24 * 3600;
/**
 * How long a request in progress holds its key: a server killed mid-request leaves no answer to replay, and the
 * key is freed for a retry after this long, not a day later.
 */
const PENDING_TTL_S = 120;

/** The header's schema, for the route's `headers` (documented, and validated: 400 naming it). */
export const idempotencyHeaderSchema = {
  type: 'object',
  properties: {
    [IDEMPOTENCY_HEADER]: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: 'a unique value per intended operation (e.g. a UUID); a retry with the same value and body replays the first answer instead of acting again (kept 24 h)',
    },
  },
} as const;

interface Stored {
  state: 'pending' | 'done';
  request: string;
  status?: number;
  body?: unknown;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Runs `act` once per (caller, key): `replayed` is true when the answer is the stored one of an earlier request.
 * A failed `act` frees the key (nothing was created), so the retry runs it again.
 */
export async function idempotent<T>(
  deps: { redis: Redis; prefix: string },
  req: FastifyRequest,
  scope: string,
  act: () => Promise<{ status: number; body: T }>,
): Promise<{ status: number; body: T; replayed: boolean }> {
  const header = req.headers[IDEMPOTENCY_HEADER];
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined) return { ...(await act()), replayed: false };
  // One caller's keys are not another's: the same key from two tokens is two operations.
  const caller = req.access?.tokenId ?? req.principal?.kind ?? 'anonymous';
  const redisKey = `${deps.prefix}:idempotency:${scope}:${sha256(`${caller}\n${key}`)}`;
  const request = sha256(JSON.stringify(req.body ?? null));
  const claimed = await deps.redis.set(redisKey, JSON.stringify({ state: 'pending', request } satisfies Stored), 'EX', PENDING_TTL_S, 'NX');
  if (claimed === null) {
    const raw = await deps.redis.get(redisKey);
    // Expired between the two calls: rare enough to ask for a retry rather than race for the key again.
    const seen = raw ? (JSON.parse(raw) as Stored) : { state: 'pending' as const, request };
    if (seen.request !== request) {
      throw new ConflictError(`the Idempotency-Key was already used with a different request body; use a new key for a new request`);
    }
    if (seen.state === 'pending') throw new ConflictError('a request with this Idempotency-Key is still being processed; retry in a few seconds');
    return { status: seen.status!, body: seen.body as T, replayed: true };
  }
  let answer: { status: number; body: T };
  try {
    answer = await act();
  } catch (err) {
    await deps.redis.del(redisKey).catch(() => undefined);
    throw err;
  }
  const done: Stored = { state: 'done', request, status: answer.status, body: answer.body };
  await deps.redis.set(redisKey, JSON.stringify(done), 'EX', DONE_TTL_S);
  return { ...answer, replayed: false };
}
