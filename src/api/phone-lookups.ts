/**
 * Looking messages up by phone number while seeing phones masked. Support staff need it ("did +91 98… get our
 * SMS?": they know the number), but every answer says whether a guessed number is in the campaign, so unbounded
 * it recovers any masked number (~4×10⁵ guesses: about half an hour per number on one connection). So such
 * lookups are counted per caller in Redis (fleet-wide), at most `perMinute` a minute, and each is audited with the
 * number masked. Callers that see phones in clear (owner with an OTP grant) are neither counted nor limited.
 */
import type { Redis } from '../db/redis';
import { TooManyRequestsError } from './http-errors';

export const PHONE_LOOKUPS_PER_MINUTE = 20;

/** Counts one lookup for `caller` (token id, or the client address for token-less access); throws 429 over budget. */
export async function countPhoneLookup(redis: Redis, prefix: string, caller: string, now = Date.now(), perMinute = PHONE_LOOKUPS_PER_MINUTE): Promise<void> {
  const minute = Math.floor(now / 60_000);
  const key = `${prefix}:phone-lookups:${caller}:${minute}`;
  const [[, count]] = (await redis.multi().incr(key).expire(key, 120).exec()) as [[Error | null, number], unknown];
  if (count > perMinute) {
    throw new TooManyRequestsError(`at most ${perMinute} lookups by phone number a minute while phones are masked; try again in a minute`);
  }
}
