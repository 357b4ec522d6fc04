/** waitForServices: a worker started before its Redis waits for it, and SIGTERM (the abort signal) ends the wait at once. */
import { createContainer } from '../../../src/container';
import { loadConfig } from '../../../src/config';
import { waitForServices } from '../../../src/db/reachability';
import { useTestEnv } from '../../helpers/env';
import { closedPort } from '../../helpers/api-server';

const env = useTestEnv();

describe('waitForServices', () => {
  it('stops waiting for an unreachable Redis as soon as it is aborted, even in the middle of a check', async () => {
    const c = createContainer({ config: loadConfig({ ...env.env, REDIS_URL: `redis://127.0.0.1:${await closedPort()}` }) });
    try {
      const stop = new AbortController();
      // Redis' check hangs until ioredis gives up or the check's budget runs out; the pause after it is long.
      const waiting = waitForServices({ pg: c.pg, redis: c.redis, logger: c.logger, signal: stop.signal, checkTimeoutMs: 3_000, firstDelayMs: 3_000 });
      await new Promise((r) => setTimeout(r, 300));
      const abortedAt = performance.now();
      stop.abort();
      expect(await waiting).toBe(false);
      // Before: the check ran to its end, then the pause ignored the signal that had already fired (~5 s).
      expect(performance.now() - abortedAt).toBeLessThan(1_000);
    } finally {
      await c.close();
    }
  });

  it('closes a container whose Redis is down without waiting for the commands queued for it', async () => {
    const c = createContainer({ config: loadConfig({ ...env.env, REDIS_URL: `redis://127.0.0.1:${await closedPort()}` }) });
    // Long enough for ioredis' reconnection attempts to be spaced out (the first few come quickly).
    await new Promise((r) => setTimeout(r, 1_500));
    // What an aborted check leaves behind: a PING in ioredis' offline queue, waiting for a connection.
    void c.redis.ping().catch(() => undefined);
    const closing = performance.now();
    await c.close();
    // Before: QUIT queued behind it and waited for ioredis' reconnection attempts to give up (1–6 s measured).
    expect(performance.now() - closing).toBeLessThan(500);
    // And closed for good: no reconnection attempt after it.
    let attempts = 0;
    c.redis.on('connecting', () => attempts++);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(attempts).toBe(0);
  });
});
