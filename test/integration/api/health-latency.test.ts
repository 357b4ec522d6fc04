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

/** A server that accepts connections and never answers. */
async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
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
});
