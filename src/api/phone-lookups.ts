/**
 * Looking messages up by phone number while seeing phones masked. Support staff need it ("did +91 98… get our
 * SMS?": they know the number), but every answer says whether a guessed number is in the campaign, so unbounded
 * it recovers any masked number (~4×10⁵ guesses: about half an hour per number on one connection). So each caller
 * may look up at most `perMinute` *different* numbers a minute (counted in Redis, fleet-wide), and each number is
 * audited (masked) once per minute: the same number asked again — the dashboard refreshing a filtered page every
 * 2 s — is neither counted again nor audited again. Callers who see phones in clear are not counted at all.
 */
import type { Redis } from '../db/redis';
import { TooManyRequestsError } from './http-errors';

export const PHONE_LOOKUPS_PER_MINUTE = 20;

/**
 * Counts a lookup of `number` for `caller` (token id, or the client address for token-less access); throws 429
 * when it would be more than `perMinute` different numbers this minute. Returns true for the first lookup of this
 * number in the minute (the one to audit).
 */
export async function countPhoneLookup(
  redis: Redis,
  prefix: string,
  caller: string,
  number: string,
  now = Date.now(),
  perMinute = PHONE_LOOKUPS_PER_MINUTE,
): Promise<boolean> {
  const key = `${prefix}:phone-lookups:${caller}:${Math.floor(now / 60_000)}`;
  const [[, added], [, distinct]] = (await redis.multi().sadd(key, number).scard(key).expire(key, 120).exec()) as [[Error | null, number], [Error | null, number], unknown];
  if (distinct > perMinute) {
    // Refused: it does not take a place in the minute's budget either.
    if (added) await redis.srem(key, number);
    throw new TooManyRequestsError(`at most ${perMinute} different numbers a minute can be looked up while phones are masked; try again in a minute`);
  }
  return added === 1;
}
