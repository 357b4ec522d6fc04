/**
 * Telling "PostgreSQL or Redis cannot be reached right now" (wait, or report a service error) apart from every other
 * failure (wrong password, missing database, a bug: report it and stop), and waiting for both to answer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import type { Logger } from '../logger';
import type { Redis } from './redis';
import { TimeoutError, withTimeout } from '../lib/with-timeout';

/**
 * Node's codes for a service that cannot be reached, Prisma's ("can't reach / timed out / closed") and PostgreSQL's
 * 57P03 (cannot_connect_now: the server is starting up or shutting down).
 */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'P1001', 'P1002', 'P1017', '57P03']);

/** A PostgreSQL or Redis that cannot be reached, however the client wrapped it. */
export function isUnreachable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false;
  const e = err as { code?: unknown; errorCode?: unknown; cause?: unknown; message?: unknown; name?: unknown };
  if (UNREACHABLE.has(String(e.code)) || UNREACHABLE.has(String(e.errorCode))) return true;
  // pg's connectionTimeoutMillis: "timeout expired" (a Client), "timeout exceeded when trying to connect" (a Pool).
  // ioredis gives up on a command after maxRetriesPerRequest reconnection attempts failed.
  if (e.name === 'MaxRetriesPerRequestError' || err instanceof TimeoutError) return true;
  if (typeof e.message === 'string' && /Can't reach database server|ECONNREFUSED|Connection terminated|timeout exceeded when trying to connect|^timeout expired$/.test(e.message)) return true;
  return isUnreachable(e.cause, depth + 1);
}

export interface WaitForServicesOptions {
  pg: Pool;
  redis: Redis;
  logger: Logger;
  /** Stops waiting (SIGTERM): resolves false. */
  signal?: AbortSignal;
  /** Pause between checks, growing from `firstDelayMs` to `maxDelayMs` (defaults 500 ms and 5 s). */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** One check's budget (default 5 s): a server that accepts the connection and never answers counts as down. */
  checkTimeoutMs?: number;
}

/**
 * Resolves true once PostgreSQL and Redis both answer, false if `signal` aborts first. A service that cannot be
 * reached is waited for (a worker started before its database, as a supervisor or `docker compose up` may do);
 * any other failure (authentication, a missing database) is thrown at once: waiting would never fix it.
 * Logs one warning when it starts waiting, then one every ~30 s, and one info line when both answer.
 */
export async function waitForServices(opts: WaitForServicesOptions): Promise<boolean> {
  const { logger, signal } = opts;
  const timeoutMs = opts.checkTimeoutMs ?? 5_000;
  let delay = opts.firstDelayMs ?? 500;
  let waitingSince: number | null = null;
  let lastWarned = 0;
  for (;;) {
    if (signal?.aborted) return false;
    const down: string[] = [];
    const check = async (name: string, probe: () => Promise<unknown>): Promise<void> => {
      try {
        // SIGTERM does not wait for a check in flight (a PING to a Redis that is down waits for ioredis' retries).
        await withTimeout(abortable(probe(), signal), timeoutMs, `${name} check`);
      } catch (err) {
        if (signal?.aborted) return;
        if (!isUnreachable(err)) throw err;
        down.push(name);
      }
    };
    await check('PostgreSQL', () => opts.pg.query('SELECT 1'));
    await check('Redis', () => opts.redis.ping());
    if (signal?.aborted) return false;
    if (!down.length) {
      if (waitingSince !== null) logger.info({ waitedMs: Date.now() - waitingSince }, 'PostgreSQL and Redis answer; starting');
      return true;
    }
    const now = Date.now();
    waitingSince ??= now;
    if (now - lastWarned >= 30_000) {
      lastWarned = now;
      logger.warn({ down, waitedMs: now - waitingSince }, `${down.join(' and ')} cannot be reached; waiting for ${down.length > 1 ? 'them' : 'it'} (SIGTERM stops)`);
    }
    // Node's abortable timer; an abort (now or already) ends the pause, and the loop's check returns.
    await sleep(delay, undefined, { signal }).catch(() => undefined);
    delay = Math.min(delay * 2, opts.maxDelayMs ?? 5_000);
  }
}

/** `work`, or a rejection as soon as `signal` aborts (at once if it already has). */
function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error('aborted'));
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
