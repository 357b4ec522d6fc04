import { Queue } from 'bullmq';
import { loadConfig } from '../../../src/config';
import { createContainer } from '../../../src/container';
import { createLogger } from '../../../src/logger';
import { providerOutcomes } from '../../../src/metrics';
import { createTwoFactorProviderFromConfig } from '../../../src/provider/twofactor/client';
import { startSimulator } from '../../../src/simulator/server';
import { useTestEnv } from '../../helpers/env';
import { logSink } from '../../helpers/log-sink';
import { stubServices } from '../../helpers/api-services';
import { TEST_API_TOKEN, closedPort, http, startApi, type RunningApi } from '../../helpers/api-server';
import { probeUntilProviderChecked, providerStatusOf } from '../../helpers/health';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });

describe('API auth, health, metrics and docs', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await startApi(env.container(), stubServices(), { queueNames: ['send'] });
  });
  afterAll(() => api.close());

  it('answers 401 without a token and with a wrong one, 200 with the right one', async () => {
    const none = await http('GET', `${api.url}/api/campaigns`, { token: null });
    expect(none.status).toBe(401);
    expect(none.json<{ error: { code: string } }>().error.code).toBe('unauthorized');
    const wrong = await http('GET', `${api.url}/api/campaigns`, { token: 'not-the-token-at-all-xxxxxxxx' });
    expect(wrong.status).toBe(401);
    const malformed = await http('GET', `${api.url}/api/lists`, { token: null, headers: { authorization: 'Basic abc' } });
    expect(malformed.status).toBe(401);
    const ok = await http('GET', `${api.url}/api/campaigns`);
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ items: [], nextCursor: null });
  });

  it('protects /metrics and /queues too, but not /health or /docs', async () => {
    expect((await http('GET', `${api.url}/metrics`, { token: null })).status).toBe(401);
    expect((await http('GET', `${api.url}/queues`, { token: null })).status).toBe(401);
    expect((await http('GET', `${api.url}/health`, { token: null })).status).toBe(200);
    const doc = await http('GET', `${api.url}/docs/json`, { token: null });
    expect(doc.status).toBe(200);
    const paths = Object.keys(doc.json<{ paths: Record<string, unknown> }>().paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/lists', '/api/campaigns/{id}/messages', '/health']));
    const ui = await http('GET', `${api.url}/docs/`, { token: null });
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });

  it('its OpenAPI document asks for the bearer token exactly where the server does', async () => {
    type Op = { security?: unknown[] };
    const doc = (await http('GET', `${api.url}/docs/json`, { token: null })).json<{
      security?: unknown[];
      paths: Record<string, Record<string, Op>>;
    }>();
    // An operation without its own `security` inherits the document's (bearer): a generated client would send the
    // token to the load balancers' /health and the provider's webhook, which take none.
    const needsToken = (path: string, method: string) => (doc.paths[path]?.[method]?.security ?? doc.security ?? []).length > 0;
    for (const path of Object.keys(doc.paths)) {
      for (const method of Object.keys(doc.paths[path]!)) {
        const status = (await http(method.toUpperCase() as 'GET' | 'POST', `${api.url}${path.replace(/\{[^}]+\}/g, 'x')}`, { token: null })).status;
        expect([path, method, needsToken(path, method)]).toEqual([path, method, status === 401]);
      }
    }
    expect(needsToken('/health', 'get')).toBe(false);
    expect(needsToken('/api/campaigns', 'get')).toBe(true);
  });

  it('accepts the token cookie on /queues only (bull-board fetches its API without our header)', async () => {
    const cookie = { cookie: `bulksms_token=${TEST_API_TOKEN}` };
    const board = await http('GET', `${api.url}/queues/api/queues?activeQueue=send`, { token: null, headers: cookie });
    expect(board.status).toBe(200);
    expect(board.json<{ queues: { name: string }[] }>().queues.map((q) => q.name)).toEqual(['send']);
    expect((await http('GET', `${api.url}/queues`, { token: null, headers: cookie })).text).toContain('<html');
    expect((await http('GET', `${api.url}/api/lists`, { token: null, headers: cookie })).status).toBe(401);
  });

  it('refuses a change through the token cookie that a page elsewhere made (same site, other port): nothing done', async () => {
    const elsewhere = new URL(api.url);
    elsewhere.port = String(Number(elsewhere.port) + 1);
    const addJob = (origin: string) =>
      http('POST', `${api.url}/queues/api/queues/send/add`, {
        token: null,
        headers: { cookie: `bulksms_token=${TEST_API_TOKEN}`, origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=planted&data=%7B%7D',
      });
    const refused = await addJob(elsewhere.origin);
    expect(refused.status).toBe(401);
    expect(refused.text).toMatch(/web page elsewhere/);
    expect((await addJob('null')).status).toBe(401);
    const queue = new Queue('send', { connection: env.container().redis, prefix: env.config.QUEUE_PREFIX });
    try {
      expect(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).toEqual({ waiting: 0, active: 0, delayed: 0, prioritized: 0 });
      // Not even bull-board's own page (same origin, the right cookie) changes the queue: the board is read-only.
      const own = await addJob(api.url);
      expect(own.status).toBeGreaterThanOrEqual(400);
      expect(own.status).not.toBe(401);
      const withToken = await http('PUT', `${api.url}/queues/api/queues/send/pause`, {});
      expect(withToken.status).toBeGreaterThanOrEqual(400);
      expect(await queue.isPaused()).toBe(false);
      expect(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).toEqual({ waiting: 0, active: 0, delayed: 0, prioritized: 0 });
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('reports PostgreSQL and Redis with latencies on /health', async () => {
    const res = await http('GET', `${api.url}/health`, { token: null });
    const body = res.json<{ status: string; checks: Record<string, { status: string; latencyMs: number }> }>();
    expect(body.status).toBe('ok');
    expect(body.checks.postgres!.status).toBe('ok');
    expect(body.checks.redis!.status).toBe('ok');
    expect(body.checks.provider!.status).toBe('skipped');
    expect(typeof body.checks.redis!.latencyMs).toBe('number');
  });

  it('answers 503 on /health when Redis is unreachable', async () => {
    const port = await closedPort();
    const config = loadConfig({ ...env.env, API_TOKEN: TEST_API_TOKEN, REDIS_URL: `redis://127.0.0.1:${port}` });
    const broken = createContainer({ config, logger: createLogger({ level: 'silent' }) });
    const second = await startApi(broken, stubServices(), { dashboard: false });
    try {
      const res = await http('GET', `${second.url}/health`, { token: null });
      expect(res.status).toBe(503);
      const body = res.json<{ status: string; checks: Record<string, { status: string; error?: string }> }>();
      expect(body.status).toBe('down');
      expect(body.checks.redis!.status).toBe('error');
      // The reason in words that name no host, port or user: /health answers anyone.
      expect(body.checks.redis!.error).toBe('cannot be reached');
      expect(res.text).not.toContain(String(port));
      expect(res.text).not.toContain('127.0.0.1');
      expect(body.checks.postgres!.status).toBe('ok');
    } finally {
      await second.close();
      broken.redis.disconnect();
      await broken.close().catch(() => undefined);
    }
  });

  it('answers /metrics promptly while Redis is unreachable: message gauges from PostgreSQL, no queue depth', async () => {
    const port = await closedPort();
    const config = loadConfig({ ...env.env, API_TOKEN: TEST_API_TOKEN, REDIS_URL: `redis://127.0.0.1:${port}` });
    const broken = createContainer({ config, logger: createLogger({ level: 'silent' }) });
    const second = await startApi(broken, stubServices(), { dashboard: false, queueNames: ['send'] });
    try {
      const started = Date.now();
      // BullMQ's job counts wait for a connection that never comes: the scrape hung (Prometheus gave up at its
      // scrape_timeout, and every scrape left one more request hanging).
      const res = await Promise.race([
        http('GET', `${second.url}/metrics`),
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 8_000)),
      ]);
      expect(res?.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(res?.text).toMatch(/^bulksms_messages\{status="pending"\} \d+$/m);
      // A depth that cannot be read is absent, not a stale number that looks current.
      expect(res?.text).not.toMatch(/^bulksms_queue_depth\{/m);
    } finally {
      await second.close();
      broken.redis.disconnect();
      await broken.close().catch(() => undefined);
    }
  }, 20_000);

  it('keeps a refusing dependency\'s reason out of /health and logs it once, when it starts failing', async () => {
    const missing = new URL(env.env.DATABASE_URL!);
    missing.pathname = '/bulksms_health_no_such_db';
    const { destination, text } = logSink();
    const config = loadConfig({ ...env.env, API_TOKEN: TEST_API_TOKEN, DATABASE_URL: missing.toString() });
    const broken = createContainer({ config, logger: createLogger({ level: 'warn', destination }) });
    const second = await startApi(broken, stubServices(), { dashboard: false });
    try {
      for (let probe = 0; probe < 3; probe++) {
        const res = await http('GET', `${second.url}/health`, { token: null });
        expect(res.status).toBe(503);
        expect(res.json<{ checks: { postgres: { error: string } } }>().checks.postgres.error).toBe('failed (the reason is in the server log)');
        expect(res.text).not.toContain('bulksms_health_no_such_db');
      }
      expect(text().split('bulksms_health_no_such_db').length - 1).toBe(1);
    } finally {
      await second.close();
      await broken.close().catch(() => undefined);
    }
  });

  it('exposes Prometheus metrics with message counts from the database and never the API key', async () => {
    const c = env.container();
    const list = await c.prisma.contactList.create({ data: { name: 'metrics-list', status: 'ready' } });
    const campaign = await c.prisma.campaign.create({
      data: { name: 'm', listId: list.id, type: 'transactional', sender: 'ABCDEF', text: 'hi', status: 'running' },
    });
    const run = await c.prisma.campaignRun.create({ data: { campaignId: campaign.id, runNumber: 1, status: 'running' } });
    await c.prisma.message.createMany({
      data: [
        ...Array.from({ length: 3 }, (_, i) => ({ runId: run.id, campaignId: campaign.id, phone: `+9190000000${i}`, status: 'queued' as const })),
        { runId: run.id, campaignId: campaign.id, phone: '+919000000099', status: 'failed' as const },
      ],
    });
    providerOutcomes.inc({ outcome: 'accepted' }, 2);
    const res = await http('GET', `${api.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/^bulksms_messages\{status="queued"\} 3$/m);
    expect(res.text).toMatch(/^bulksms_messages\{status="failed"\} 1$/m);
    expect(res.text).toMatch(/^bulksms_messages\{status="delivered"\} 0$/m);
    expect(res.text).toMatch(/^bulksms_provider_outcomes_total\{outcome="accepted"\} \d+$/m);
    expect(res.text).toMatch(/^bulksms_queue_depth\{queue="send",state="waiting"\} 0$/m);
    for (const name of ['bulksms_send_latency_seconds', 'bulksms_rate_limit_waits_total', 'bulksms_import_rows_total']) {
      expect(res.text).toContain(`# TYPE ${name}`);
    }
    expect(res.text).not.toContain(env.config.TWOFACTOR_API_KEY!);
  });
});

describe('API without API_TOKEN', () => {
  it('lets loopback clients in (serve refuses to bind anything else)', async () => {
    const { API_TOKEN: _unused, ...withoutToken } = env.env;
    const config = loadConfig(withoutToken);
    expect(config.API_TOKEN).toBeUndefined();
    const c = createContainer({ config, logger: createLogger({ level: 'silent' }) });
    const api = await startApi(c, stubServices(), { dashboard: false });
    try {
      const res = await http('GET', `${api.url}/api/lists`, { token: null });
      expect(res.status).toBe(200);
      // The dashboard's own requests name this host as their Origin.
      const own = await http('GET', `${api.url}/api/lists`, { token: null, headers: { origin: api.url } });
      expect(own.status).toBe(200);
    } finally {
      await api.close();
      await c.close();
    }
  });

  it('refuses web pages elsewhere: a cross-site form POST and a DNS-rebound Host get 401, nothing done', async () => {
    const { API_TOKEN: _unused, ...withoutToken } = env.env;
    const c = createContainer({ config: loadConfig(withoutToken), logger: createLogger({ level: 'silent' }) });
    const api = await startApi(c, stubServices(), { dashboard: false });
    try {
      const crossSite = await http('POST', `${api.url}/api/campaigns/00000000-0000-4000-8000-000000000000/cancel`, {
        token: null,
        headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
        body: 'x=1',
      });
      expect(crossSite.status).toBe(401);
      expect(crossSite.text).toMatch(/web page elsewhere/);
      for (const host of ['rebind.evil.example', '127.0.0.1.rebind.evil.example', '127.evil.example:80']) {
        const rebound = await http('GET', `${api.url}/api/lists`, { token: null, headers: { host } });
        expect({ host, status: rebound.status }).toEqual({ host, status: 401 });
        expect(rebound.text).toMatch(/not a loopback name/);
      }
      const port = new URL(api.url).port;
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
        expect({ host, status: (await http('GET', `${api.url}/api/lists`, { token: null, headers: { host } })).status }).toEqual({ host, status: 200 });
      }
      // Public routes (health) are not affected.
      expect((await http('GET', `${api.url}/health`, { token: null, headers: { host: 'rebind.evil.example' } })).status).toBe(200);
    } finally {
      await api.close();
      await c.close();
    }
  });
});

describe('API with API_ALLOW_IPS', () => {
  it('answers 403 to clients outside the allow-list, even with the right token', async () => {
    const config = loadConfig({ ...env.env, API_ALLOW_IPS: '10.0.0.0/8' });
    const c = createContainer({ config, logger: createLogger({ level: 'silent' }) });
    const api = await startApi(c, stubServices(), { dashboard: false });
    try {
      expect((await http('GET', `${api.url}/api/lists`)).status).toBe(403);
      expect((await http('GET', `${api.url}/health`, { token: null })).status).toBe(200);
    } finally {
      await api.close();
      await c.close();
    }
  });

  it('logs a refused address with the route pattern, never the raw path (it may hold a recipient\'s number)', async () => {
    const { destination: logs, lines } = logSink();
    const config = loadConfig({ ...env.env, API_ALLOW_IPS: '10.0.0.0/8' });
    const c = createContainer({ config, logger: createLogger({ level: 'info', destination: logs }) });
    const api = await startApi(c, stubServices(), { dashboard: false });
    try {
      expect((await http('GET', `${api.url}/api/suppressions/%2B919876543210`)).status).toBe(403);
      const refusal = lines.map((l) => JSON.parse(l) as { msg: string; path?: string; route?: string }).find((l) => /API_ALLOW_IPS/.test(l.msg));
      expect(refusal).toMatchObject({ route: 'GET /api/suppressions/:phone' });
      expect(lines.join('')).not.toMatch(/9876543210/);
    } finally {
      await api.close();
      await c.close();
    }
  });
});

describe('API behind a reverse proxy (API_TRUST_PROXY)', () => {
  const viaProxy = (url: string, forwardedFor?: string, token?: string | null) =>
    http('GET', `${url}/api/lists`, { ...(token !== undefined ? { token } : {}), headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });

  it('judges the allow-list by the client a trusted proxy forwards for, never by a header from anyone else', async () => {
    const { destination: logs, lines } = logSink();
    const allowed = { ...env.env, API_ALLOW_IPS: '203.0.113.0/24' };
    const trusting = createContainer({ config: loadConfig({ ...allowed, API_TRUST_PROXY: '127.0.0.1' }), logger: createLogger({ level: 'info', destination: logs }) });
    const plain = createContainer({ config: loadConfig(allowed), logger: createLogger({ level: 'silent' }) });
    const behindProxy = await startApi(trusting, stubServices(), { dashboard: false });
    const direct = await startApi(plain, stubServices(), { dashboard: false });
    try {
      const answers = {
        forwardedInside: (await viaProxy(behindProxy.url, '203.0.113.7')).status,
        forwardedOutside: (await viaProxy(behindProxy.url, '198.51.100.9')).status,
        // The client wrote an allowed address itself; the proxy appended the one it saw.
        spoofedFirstHop: (await viaProxy(behindProxy.url, '203.0.113.7, 198.51.100.9')).status,
        proxyItself: (await viaProxy(behindProxy.url)).status,
        // Without API_TRUST_PROXY the header is anyone's to write: ignored.
        untrustedHeader: (await viaProxy(direct.url, '203.0.113.7')).status,
      };
      expect(answers).toEqual({ forwardedInside: 200, forwardedOutside: 403, spoofedFirstHop: 403, proxyItself: 403, untrustedHeader: 403 });
      const refused = lines.map((l) => JSON.parse(l) as { msg: string; ip?: string }).filter((l) => /API_ALLOW_IPS/.test(l.msg)).map((l) => l.ip);
      expect(refused).toEqual(['198.51.100.9', '198.51.100.9', '127.0.0.1']);
    } finally {
      await behindProxy.close();
      await direct.close();
      await trusting.close();
      await plain.close();
    }
  });

  it('without API_TOKEN lets in only callers that are local themselves, not everyone a local proxy forwards', async () => {
    const { API_TOKEN: _unused, ...withoutToken } = env.env;
    const c = createContainer({ config: loadConfig({ ...withoutToken, API_TRUST_PROXY: '127.0.0.1' }), logger: createLogger({ level: 'silent' }) });
    const api = await startApi(c, stubServices(), { dashboard: false });
    try {
      const outside = await viaProxy(api.url, '198.51.100.9', null);
      expect([outside.status, outside.text]).toEqual([401, expect.stringMatching(/only loopback clients/)]);
      expect((await viaProxy(api.url, '127.0.0.1', null)).status).toBe(200);
      expect((await viaProxy(api.url, undefined, null)).status).toBe(200);
    } finally {
      await api.close();
      await c.close();
    }
  });

  it('refuses a proxy that is no address, naming the setting', async () => {
    const c = createContainer({ config: loadConfig({ ...env.env, API_TRUST_PROXY: '127.0.0.1, proxy.internal' }), logger: createLogger({ level: 'silent' }) });
    try {
      await expect(startApi(c, stubServices(), { dashboard: false })).rejects.toMatchObject({
        field: 'API_TRUST_PROXY',
        message: 'API_TRUST_PROXY: "proxy.internal" is not an IP address or CIDR',
      });
    } finally {
      await c.close();
    }
  });
});

describe('/health provider check against the simulator', () => {
  it('is ok while the provider answers, and degraded (200: the API and the webhook still serve) once it is gone', async () => {
    const sim = await startSimulator({ apiKey: env.config.TWOFACTOR_API_KEY! });
    const config = loadConfig({ ...env.env, TWOFACTOR_BASE_URL: sim.url });
    const c = createContainer({ config, logger: createLogger({ level: 'silent' }) });
    const provider = createTwoFactorProviderFromConfig(c, { connections: 1 });
    const api = await startApi(c, stubServices(), { dashboard: false, providerCheckCacheMs: 0 }, provider);
    try {
      const probe = () => http('GET', `${api.url}/health`, { token: null });
      const up = await probeUntilProviderChecked(probe, providerStatusOf);
      expect(up.status).toBe(200);
      expect(providerStatusOf(up)).toBe('ok');
      await sim.close();
      const down = await probeUntilProviderChecked(probe, providerStatusOf);
      expect(down.status).toBe(200);
      const body = down.json<{ status: string; checks: { provider: { status: string; error: string } } }>();
      expect(body.status).toBe('degraded');
      expect(body.checks.provider.status).toBe('error');
      expect(body.checks.provider.error).not.toContain(env.config.TWOFACTOR_API_KEY!);
      expect(down.text).not.toContain(new URL(sim.url).port);
    } finally {
      await api.close();
      await provider.close();
      await c.close();
      await sim.close().catch(() => undefined);
    }
  });
});

describe('auth cannot be sidestepped by URL spelling', () => {
  it('protects encoded, doubled and query-suffixed spellings of protected paths', async () => {
    const c = createContainer({ config: loadConfig({ ...env.env, API_TOKEN: TEST_API_TOKEN }), logger: createLogger({ level: 'silent' }) });
    const api = await startApi(c, stubServices(), { queueNames: ['send'] });
    try {
      for (const path of ['/%61pi/lists', '/api/lists?x=/health', '/api%2Flists', '/%6detrics', '/queues/api/queues', '/api/lists/']) {
        const res = await http('GET', `${api.url}${path}`, { token: null });
        expect({ path, ok: res.status === 401 || res.status === 404 }).toEqual({ path, ok: true });
      }
    } finally {
      await api.close();
      await c.close();
    }
  });
});
