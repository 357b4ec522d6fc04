/**
 * GET /health answers within its own checks' bounds: the provider's (5 s) check only makes the answer `degraded`,
 * so a probe does not wait it out — not when 2Factor hangs, and not when Redis, which its request slot goes
 * through, is down.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { loadConfig } from '../../../src/config';
import { createContainer } from '../../../src/container';
import { createLogger } from '../../../src/logger';
import { createTwoFactorProviderFromConfig } from '../../../src/provider/twofactor/client';
import { useTestEnv } from '../../helpers/env';
import { stubServices } from '../../helpers/api-services';
import { TEST_API_TOKEN, http, startApi } from '../../helpers/api-server';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });

/** A server that accepts connections and never answers; `connections` counts those it was sent. */
async function startSilentServer(): Promise<{ url: string; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

type HealthBody = { status: string; checks: Record<string, { status: string; error?: string }> };

async function timedProbe(url: string): Promise<{ status: number; body: HealthBody; ms: number }> {
  const started = Date.now();
  const res = await http('GET', `${url}/health`, { token: null });
  return { status: res.status, body: res.json<HealthBody>(), ms: Date.now() - started };
}

describe('/health latency', () => {
  it('answers within a second while 2Factor does not answer, then reports the timeout once its check has ended', async () => {
    const silent = await startSilentServer();
    const c = createContainer({ config: loadConfig({ ...env.env, TWOFACTOR_BASE_URL: silent.url }), logger: createLogger({ level: 'silent' }) });
    const provider = createTwoFactorProviderFromConfig(c, { connections: 1 });
    const api = await startApi(c, stubServices(), { dashboard: false }, provider);
    try {
      const first = await timedProbe(api.url);
      expect(first.ms).toBeLessThan(2_000);
      expect(first.status).toBe(200);
      expect(first.body.checks.postgres!.status).toBe('ok');
      expect(first.body.checks.provider!.status).toBe('skipped');

      // The background check gives up at 5 s; later probes report it (cached) without waiting.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      const later = await timedProbe(api.url);
      expect(later.ms).toBeLessThan(2_000);
      expect(later.status).toBe(200);
      expect(later.body.status).toBe('degraded');
      expect(later.body.checks.provider!.error).toBe('no answer within 5000 ms');
    } finally {
      await api.close();
      await provider.close();
      await c.close();
      await silent.close();
    }
  }, 20_000);

  it('answers 503 within the Redis check\'s 2 s while Redis does not answer, although the provider check waits on Redis', async () => {
    // A Redis that takes connections and never answers (a hung server, a black-holed route); a refused port fails
    // ioredis' commands at once only while its reconnection back-off is still short.
    const silent = await startSilentServer();
    const config = loadConfig({ ...env.env, TWOFACTOR_BASE_URL: silent.url, REDIS_URL: silent.url.replace('http:', 'redis:') });
    const broken = createContainer({ config, logger: createLogger({ level: 'silent' }) });
    const provider = createTwoFactorProviderFromConfig(broken, { connections: 1 });
    const api = await startApi(broken, stubServices(), { dashboard: false }, provider);
    try {
      const probe = await timedProbe(api.url);
      expect(probe.status).toBe(503);
      expect(probe.body.checks.redis!.status).toBe('error');
      expect(probe.ms).toBeLessThan(3_500);
    } finally {
      await api.close();
      await provider.close();
      broken.redis.disconnect();
      await broken.close().catch(() => undefined);
      await silent.close();
    }
  }, 20_000);

  it.each([
    ['refuses connections', 'refused' as const],
    ['takes connections and never answers', 'silent' as const],
  ])('says the provider was not checked while Redis %s: its request slot goes through Redis, so 2Factor was never asked', async (_how, how) => {
    const provider2f = await startSilentServer();
    const silentRedis = how === 'silent' ? await startSilentServer() : null;
    const redisUrl = silentRedis ? silentRedis.url.replace('http:', 'redis:') : `redis://127.0.0.1:${await closedPort()}`;
    const broken = createContainer({ config: loadConfig({ ...env.env, TWOFACTOR_BASE_URL: provider2f.url, REDIS_URL: redisUrl }), logger: createLogger({ level: 'silent' }) });
    const provider = createTwoFactorProviderFromConfig(broken, { connections: 1 });
    const api = await startApi(broken, stubServices(), { dashboard: false }, provider);
    try {
      // The first probe starts the check; once it has ended (at most its 5 s), a probe reports it.
      await timedProbe(api.url);
      await new Promise((resolve) => setTimeout(resolve, 5_500));
      const probe = await timedProbe(api.url);
      expect(probe.status).toBe(503);
      expect(probe.body.checks.redis!.status).toBe('error');
      expect(probe.body.checks.provider).toMatchObject({ status: 'skipped', error: 'not checked: Redis unavailable' });
      expect(provider2f.connections()).toBe(0);
    } finally {
      await api.close();
      await provider.close();
      broken.redis.disconnect();
      await broken.close().catch(() => undefined);
      await provider2f.close();
      await silentRedis?.close();
    }
  }, 30_000);
});

/** A local port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
