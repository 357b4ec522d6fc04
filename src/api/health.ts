/**
 * Dependency checks for GET /health: PostgreSQL, Redis and the provider, each with a deadline so a hung
 * dependency shows up as "down" instead of hanging the probe. The provider check costs a real API call, so
 * its result is reused for a while, and a probe waits for a new one only briefly (PROVIDER_PROBE_WAIT_MS).
 */
import type { Container } from '../container';
import { inSlot, RateLimiterUnavailableError, type Slot } from '../delivery/paced-slot';
import type { SmsProvider } from '../provider/sms-provider';
import { TimeoutError, withTimeout } from '../lib/with-timeout';
import { isUnreachable } from '../db/reachability';

export interface CheckResult {
  status: 'ok' | 'error' | 'skipped';
  latencyMs: number;
  /**
   * Why it failed, in words that give nothing away: /health answers without a token (load balancers), and a raw
   * error names internal hosts, the database user or the state of the API key.
   */
  error?: string;
  /** The raw error message, for the server log only (never sent). */
  detail?: string;
}

export interface HealthReport {
  /**
   * `down` (HTTP 503) when this instance cannot serve: PostgreSQL or Redis fails. `degraded` (HTTP 200) when only
   * 2Factor fails: every instance sees the same outage, and a load balancer taking them all out on a 503 also cut
   * off the delivery-report webhook and the dashboard, just when operators need them.
   */
  status: 'ok' | 'degraded' | 'down';
  checks: { postgres: CheckResult; redis: CheckResult; provider: CheckResult };
}

const CHECK_TIMEOUT_MS = 2_000;
/**
 * How long a probe waits for a provider check in progress before it answers with the last one. The provider only
 * makes the answer `degraded`, never 503, yet waiting out its 5 s check made a probe take 5 s whenever the provider
 * hung or Redis (its request slot) was down: past Docker's 5 s healthcheck timeout and most load balancers', so a
 * 2Factor outage failed every probe that missed the cache, and a Redis outage was a 5 s 503 instead of a 2 s one.
 */
const PROVIDER_PROBE_WAIT_MS = 1_000;

export async function timed(fn: (signal: AbortSignal) => Promise<unknown>, timeoutMs = CHECK_TIMEOUT_MS): Promise<CheckResult> {
  const started = performance.now();
  const ctl = new AbortController();
  try {
    await withTimeout(fn(ctl.signal), timeoutMs, 'check');
    return { status: 'ok', latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    // A check given up on is aborted too, so it does not linger.
    if (err instanceof TimeoutError) ctl.abort();
    const error = err instanceof TimeoutError ? `no answer within ${timeoutMs} ms` : isUnreachable(err) ? 'cannot be reached' : 'failed (the reason is in the server log)';
    const detail = err instanceof Error ? err.message : String(err);
    return { status: 'error', latencyMs: Math.round(performance.now() - started), error, detail };
  }
}

/** How long one provider check may take, its wait for a request slot included. */
const PROVIDER_CHECK_TIMEOUT_MS = 5_000;
/** The provider's request slot comes from the account-wide budget in Redis: a check that got none never asked it. */
type SlotFailure = 'redis-failed' | 'no-slot-in-time';

/** A provider check, and why it never reached the provider when it did not (`notAsked`). */
interface ProviderCheck {
  result: CheckResult;
  notAsked?: SlotFailure;
}

/**
 * What a probe shows for the provider. Not asked, it is `skipped`: "no answer within 5000 ms" or "cannot be reached"
 * blamed 2Factor for a Redis outage, and cached that for the provider check's cache time.
 */
function shownProviderCheck(check: ProviderCheck, redis: CheckResult): CheckResult {
  if (!check.notAsked) return check.result;
  const { latencyMs, detail } = check.result;
  const redisDown = check.notAsked === 'redis-failed' || redis.status === 'error';
  const error = redisDown ? 'not checked: Redis unavailable' : `not checked: no request slot within ${PROVIDER_CHECK_TIMEOUT_MS} ms`;
  return { status: 'skipped', latencyMs, error, ...(detail === undefined ? {} : { detail }) };
}

export function createHealthCheck(
  container: Container,
  provider: SmsProvider | undefined,
  providerCacheMs: number,
  acquireSlot?: () => Promise<Slot>,
): () => Promise<HealthReport> {
  let cached: { at: number; check: ProviderCheck } | undefined;
  let checking: Promise<ProviderCheck> | null = null;

  /** The provider's result if fresh; otherwise a check (one at a time however many probes ask) that refreshes it. */
  function checkProvider(): Promise<ProviderCheck> {
    if (!provider) return Promise.resolve({ result: { status: 'skipped', latencyMs: 0, error: 'no provider configured' } });
    if (cached && Date.now() - cached.at < providerCacheMs) return Promise.resolve(cached.check);
    // The balance call proves the provider answers and the key is accepted (the key never appears in the error text).
    // It takes a slot of the account-wide request budget: the provider counts it against the same limit as the
    // workers' sends.
    checking ??= (async (): Promise<ProviderCheck> => {
      let notAsked: SlotFailure | undefined = 'no-slot-in-time';
      const result = await timed(async (signal) => {
        // inSlot: the slot's onWrite judges the request, and a 429 for it slows the fleet as a throttled send does.
        const takeSlot = async (): Promise<Slot | void> => {
          try {
            return await acquireSlot?.();
          } catch (err) {
            if (err instanceof RateLimiterUnavailableError) notAsked = 'redis-failed';
            throw err;
          }
        };
        return inSlot(takeSlot, (onWrite) => {
          notAsked = undefined;
          return provider.balance('TRANSACTIONAL_SMS', signal, onWrite);
        });
      }, PROVIDER_CHECK_TIMEOUT_MS);
      const check: ProviderCheck = notAsked ? { result, notAsked } : { result };
      // One that never asked the provider says nothing about it: shown until the next check, which the next probe
      // starts (the provider is checked again as soon as Redis answers, not after the cache time).
      cached = { at: notAsked ? -Infinity : Date.now(), check };
      return check;
    })().finally(() => {
      checking = null;
    });
    return checking;
  }

  /** A check still running after the wait answers with the previous result, or says so when there is none yet. */
  async function providerForProbe(): Promise<ProviderCheck> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), PROVIDER_PROBE_WAIT_MS)));
    try {
      const check = await Promise.race([checkProvider(), waited]);
      if (check) return check;
    } finally {
      clearTimeout(timer);
    }
    return cached?.check ?? { result: { status: 'skipped', latencyMs: Math.round(performance.now() - started), error: 'first check still in progress' } };
  }

  return async () => {
    const [postgres, redis, providerCheck] = await Promise.all([
      timed(() => container.pg.query('SELECT 1')),
      timed(() => container.redis.ping()),
      providerForProbe(),
    ]);
    const prov = shownProviderCheck(providerCheck, redis);
    const checks = { postgres, redis, provider: prov };
    const status = postgres.status === 'error' || redis.status === 'error' ? 'down' : prov.status === 'error' ? 'degraded' : 'ok';
    return { status, checks };
  };
}
