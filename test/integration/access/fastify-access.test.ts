import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import { request } from 'undici';
import { installAccessControl, installRoutePermissions, phoneFor, type CallerIdentity } from '../../../src/access/fastify-access';
import { registerOtpRoutes } from '../../../src/access/fastify-otp-routes';
import { parseAllowList } from '../../../src/access/ip-allow';
import { API_ROUTE_ACCESS } from '../../../src/access/api-routes';
import { createToken, dbTokenVerifier } from '../../../src/access/tokens';
import { useTestEnv } from '../../helpers/env';
import { createTwoFactorProvider, type TwoFactorClient } from '../../../src/provider/twofactor/client';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';
import { logSink } from '../../helpers/log-sink';

const env = useTestEnv({ OTP_GRANT_TTL_SECONDS: '2' });
const PHONE = '+919876543210';
let app: FastifyInstance;
let base: string;
let sim: RunningSimulator;
let client: TwoFactorClient;
const tokens: Record<'owner' | 'operator' | 'viewer' | 'ownerNoPhone', string> = { owner: '', operator: '', viewer: '', ownerNoPhone: '' };

beforeAll(async () => {
  const c = env.container();
  sim = await startSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, port: 0 });
  client = createTwoFactorProvider({ baseUrl: sim.url, apiKey: env.config.TWOFACTOR_API_KEY!, timeoutMs: 5000, connections: 2, logger: c.logger });
  tokens.owner = (await createToken(c, { role: 'owner', name: 'alice', phone: PHONE })).token;
  tokens.operator = (await createToken(c, { role: 'operator', phone: '+919800000001' })).token;
  tokens.viewer = (await createToken(c, { role: 'viewer' })).token;
  tokens.ownerNoPhone = (await createToken(c, { role: 'owner' })).token;

  // trustProxy so the IP tests can speak from other addresses through X-Forwarded-For over real HTTP.
  app = Fastify({ logger: false, trustProxy: true });
  installAccessControl(app, { deps: c, allowList: parseAllowList('127.0.0.0/8,::1,10.0.0.0/8,2001:db8::/32') });
  registerOtpRoutes(app, {
    prisma: c.prisma,
    config: c.config,
    otp: client, // the provider team's 2Factor client is the OtpSender
  });
  app.get('/health', { config: { access: 'public' } }, async () => ({ ok: true }));
  app.get('/api/campaigns', { config: { access: 'read' } }, async () => ({ campaigns: [] }));
  app.get('/api/messages', { config: { access: 'read' } }, async (req) => ({ phones: [phoneFor(req, PHONE)] }));
  app.post('/api/campaigns/:id/start', { config: { access: 'write', action: 'campaign.start' } }, async () => ({ ok: true }));
  app.post('/api/tokens', { config: { access: 'admin' } }, async () => ({ ok: true }));
  app.get('/api/messages/export', { config: { access: 'unmasked', action: 'message.export.unmasked' } }, async (req) => ({
    phones: [phoneFor(req, PHONE)],
  }));
  app.get('/api/undeclared', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

env.cleanup(async () => {
  await app?.close();
  await client?.close();
  await sim?.close();
});

/** The code the simulator generated for a challenge (its /__stats exposes live OTPs by session). */
async function otpFor(challengeId: string): Promise<string> {
  const row = await env.container().prisma.otpGrant.findUniqueOrThrow({ where: { id: challengeId } });
  const res = await request(`${sim.url}/__stats`);
  const stats = (await res.body.json()) as { otps: Record<string, string> };
  const code = stats.otps[row.sessionId];
  if (!code) throw new Error(`simulator has no live OTP for session ${row.sessionId}`);
  return code;
}

async function call(method: 'GET' | 'POST', path: string, token?: string, body?: object, from?: string) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (from) headers['x-forwarded-for'] = from;
  if (body) headers['content-type'] = 'application/json';
  const res = await request(`${base}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> & { error?: { code: string } } };
}

describe('role matrix over real HTTP', () => {
  const routes: [string, 'GET' | 'POST', string][] = [
    ['read', 'GET', '/api/campaigns'],
    ['write', 'POST', '/api/campaigns/c1/start'],
    ['admin', 'POST', '/api/tokens'],
    ['unmasked', 'GET', '/api/messages/export'],
    ['default(admin)', 'GET', '/api/undeclared'],
  ];
  const expected: Record<string, number[]> = {
    owner: [200, 200, 200, 403, 200],
    operator: [200, 200, 403, 403, 403],
    viewer: [200, 403, 403, 403, 403],
  };
  for (const role of ['owner', 'operator', 'viewer'] as const) {
    it(`${role}: ${expected[role]!.join(' ')}`, async () => {
      const got: number[] = [];
      for (const [, method, path] of routes) got.push((await call(method, path, tokens[role])).status);
      expect(got).toEqual(expected[role]);
    });
  }

  it('401 without or with a bad token; public routes need none', async () => {
    expect((await call('GET', '/api/campaigns')).status).toBe(401);
    expect((await call('GET', '/api/campaigns', 'bsms_nottherealtokenatall0000000000000000000')).status).toBe(401);
    expect((await call('GET', '/health')).status).toBe(200);
  });

  it('masks phones for operator and viewer, and for an owner without an OTP grant', async () => {
    for (const role of ['operator', 'viewer', 'owner'] as const) {
      expect((await call('GET', '/api/messages', tokens[role])).body).toEqual({ phones: ['+91******3210'] });
    }
  });

  it('audits campaign actions with who and from where', async () => {
    await call('POST', '/api/campaigns/c42/start', tokens.operator);
    const c = env.container();
    const row = await c.prisma.auditLog.findFirstOrThrow({ where: { action: 'campaign.start', target: 'c42' } });
    expect(row.ip).toBe('127.0.0.1');
    const op = await c.prisma.apiToken.findFirstOrThrow({ where: { role: 'operator' } });
    expect(row.tokenId).toBe(op.id);
  });
});

describe('access.denied in the one-hook pipeline (installAccessControl)', () => {
  it('audits each refusal with its reason, route pattern, address and the token id when known', async () => {
    const from = '10.7.7.7';
    const statuses = [
      (await call('GET', '/api/campaigns', undefined, undefined, from)).status,
      (await call('GET', '/api/campaigns', 'bsms_nottherealtokenatall0000000000000000000', undefined, from)).status,
      (await call('POST', '/api/campaigns/c9/start', tokens.viewer, undefined, from)).status,
      (await call('GET', '/api/campaigns', tokens.viewer, undefined, '198.51.100.9')).status,
    ];
    expect(statuses).toEqual([401, 401, 403, 403]);
    const viewer = await env.container().prisma.apiToken.findFirstOrThrow({ where: { role: 'viewer' } });
    const rows = await env.container().prisma.auditLog.findMany({ where: { action: 'access.denied', ip: { in: [from, '198.51.100.9'] } }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => [r.ip, r.target, r.tokenId, (r.details as { reason: string }).reason])).toEqual([
      [from, '/api/campaigns', null, 'missing_token'],
      [from, '/api/campaigns', null, 'invalid_token'],
      [from, '/api/campaigns/:id/start', viewer.id, 'forbidden'],
      ['198.51.100.9', '/api/campaigns', null, 'ip_not_allowed'],
    ]);
  });
});

describe('IP allow-list (enforced before authentication)', () => {
  it.each([
    ['10.1.2.3', 200],
    ['::ffff:10.9.9.9', 200],
    ['2001:db8::7', 200],
    ['192.0.2.1', 403],
    ['::ffff:192.0.2.1', 403],
    ['2001:db9::1', 403],
  ])('%s → %i', async (remoteAddress, status) => {
    const res = await call('GET', '/api/campaigns', tokens.viewer, undefined, remoteAddress);
    expect(res.status).toBe(status);
    if (status === 403) expect(res.body).toEqual({ error: { code: 'ip_not_allowed', message: expect.any(String) } });
  });

  it('refuses a disallowed address even without a token (no 401 oracle)', async () => {
    const res = await call('GET', '/api/campaigns', undefined, undefined, '198.51.100.1');
    expect(res.status).toBe(403);
    expect((await call('GET', '/health', undefined, undefined, '198.51.100.1')).status).toBe(200);
  });
});

describe('refused addresses are logged without their body', () => {
  it('logs ip and route pattern only', async () => {
    const { destination: sink, lines } = logSink();
    const logged = Fastify({ loggerInstance: pino({ level: 'info' }, sink) as FastifyBaseLogger, trustProxy: true, logController: new LogController({ disableRequestLogging: true }) });
    installAccessControl(logged, { deps: env.container(), allowList: parseAllowList('10.0.0.0/8') });
    logged.post('/api/lists/:name', { config: { access: 'write' } }, async () => ({ ok: true }));
    await logged.listen({ port: 0, host: '127.0.0.1' });
    try {
      const addr = logged.server.address();
      const res = await request(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/api/lists/secret-list`, {
        method: 'POST',
        headers: { 'x-forwarded-for': '203.0.113.50', 'content-type': 'application/json' },
        body: JSON.stringify({ phone: '+919812345678' }),
      });
      expect(res.statusCode).toBe(403);
      await res.body.dump();
    } finally {
      await logged.close();
    }
    const refusal = lines.find((l) => l.includes('outside API_ALLOW_IPS'));
    expect(refusal).toBeDefined();
    expect(JSON.parse(refusal!)).toMatchObject({ ip: '203.0.113.50', route: 'POST /api/lists/:name' });
    expect(lines.join('')).not.toContain('+919812345678');
    expect(lines.join('')).not.toContain('secret-list');
  });
});

describe('SMS OTP second factor against the 2Factor simulator over real HTTP', () => {
  it('grants unmasked access after the right OTP, once, for OTP_GRANT_TTL_SECONDS', async () => {
    expect((await call('GET', '/api/messages/export', tokens.owner)).body.error?.code).toBe('otp_required');
    const challenge = await call('POST', '/api/access/otp', tokens.owner);
    expect(challenge.status).toBe(200);
    expect(challenge.body.sentTo).toBe('+91******3210');
    const challengeId = challenge.body.challengeId as string;
    const issued = { otp: await otpFor(challengeId) };
    expect(issued.otp).toMatch(/^\d{6}$/);

    const wrong = String((Number(issued.otp) + 1) % 1_000_000).padStart(6, '0');
    const mismatch = await call('POST', '/api/access/otp/verify', tokens.owner, { challengeId, otp: wrong });
    expect(mismatch).toEqual({ status: 400, body: { error: { code: 'otp_mismatch', message: 'wrong OTP' } } });
    expect((await call('GET', '/api/messages/export', tokens.owner)).status).toBe(403);

    const ok = await call('POST', '/api/access/otp/verify', tokens.owner, { challengeId, otp: issued.otp });
    expect(ok.status).toBe(200);
    expect(new Date(ok.body.expiresAt as string).getTime()).toBeGreaterThan(Date.now());
    expect((await call('GET', '/api/messages/export', tokens.owner)).body).toEqual({ phones: [PHONE] });
    expect((await call('GET', '/api/messages', tokens.owner)).body).toEqual({ phones: [PHONE] });

    const reuse = await call('POST', '/api/access/otp/verify', tokens.owner, { challengeId, otp: issued.otp });
    expect(reuse.status).toBe(400);
    expect(reuse.body.error?.code).toBe('otp_used');

    const c = env.container();
    const audited = await c.prisma.auditLog.findMany({ where: { action: { in: ['message.export.unmasked', 'otp.verify', 'otp.verify.failed'] } } });
    expect(audited.filter((a) => a.action === 'message.export.unmasked')).toHaveLength(1);
    expect(audited.filter((a) => a.action === 'otp.verify')).toHaveLength(1);
    expect(audited.filter((a) => a.action === 'otp.verify.failed')).toHaveLength(2);

    // The grant lapses after OTP_GRANT_TTL_SECONDS (2 s here).
    await new Promise((r) => setTimeout(r, 2200));
    expect((await call('GET', '/api/messages/export', tokens.owner)).body.error?.code).toBe('otp_required');
    expect((await call('GET', '/api/messages', tokens.owner)).body).toEqual({ phones: ['+91******3210'] });
  });

  it('rejects an OTP the provider reports as expired', async () => {
    sim.configure({ otpTtlMs: 300 });
    try {
      const challenge = await call('POST', '/api/access/otp', tokens.owner);
      const otp = await otpFor(challenge.body.challengeId as string);
      await new Promise((r) => setTimeout(r, 400));
      const res = await call('POST', '/api/access/otp/verify', tokens.owner, { challengeId: challenge.body.challengeId as object, otp });
      expect(res.status).toBe(400);
      expect(res.body.error?.code).toBe('otp_expired');
    } finally {
      sim.configure({ otpTtlMs: 600_000 });
    }
    expect((await call('GET', '/api/messages/export', tokens.owner)).status).toBe(403);
  });

  it('refuses OTPs to operators and to tokens without a phone, and another token\'s challenge', async () => {
    expect((await call('POST', '/api/access/otp', tokens.operator)).body.error?.code).toBe('forbidden');
    expect((await call('POST', '/api/access/otp', tokens.ownerNoPhone)).body.error?.code).toBe('forbidden');
    const challenge = await call('POST', '/api/access/otp', tokens.owner);
    const otp = await otpFor(challenge.body.challengeId as string);
    const stolen = await call('POST', '/api/access/otp/verify', tokens.ownerNoPhone, { challengeId: challenge.body.challengeId as object, otp });
    expect(stolen.body.error?.code).toBe('otp_unknown');
  });

  it('limits OTP SMS per token', async () => {
    const c = env.container();
    const owner = await createToken(c, { role: 'owner', phone: '+919800000077' });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await call('POST', '/api/access/otp', owner.token)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });
});

describe('installRoutePermissions behind an existing auth hook (the API server\'s shape)', () => {
  it('enforces route levels for identities another hook resolved, and skips unprotected routes', async () => {
    const c = env.container();
    const verify = dbTokenVerifier(c);
    const identities = new WeakMap<object, CallerIdentity>();
    const api = Fastify({ logger: false });
    // Stand-in for src/api/auth.ts: protects /api/*, resolves the bearer through the verifier list.
    api.addHook('onRequest', async (req, reply) => {
      if (!req.url.startsWith('/api/')) return;
      const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const who = token ? await verify(token) : null;
      if (!who) return reply.code(401).send({ error: { code: 'unauthorized', message: 'no' } });
      identities.set(req, who);
    });
    installRoutePermissions(api, { deps: c, principalOf: (req) => identities.get(req), routes: API_ROUTE_ACCESS });
    api.get('/health', async () => ({ ok: true }));
    api.get('/api/messages', { config: { access: 'read' } }, async (req) => ({ phones: [phoneFor(req, PHONE)], role: req.access?.role }));
    // No config: the level and audit action come from API_ROUTE_ACCESS.
    api.post('/api/campaigns/:id/cancel', async () => ({ ok: true }));
    api.get('/api/tokens', async () => ({ ok: true }));
    await api.listen({ port: 0, host: '127.0.0.1' });
    try {
      const addr = api.server.address();
      const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
      const hit = async (method: 'GET' | 'POST', path: string, token?: string) => {
        const res = await request(`${url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
        return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
      };
      expect((await hit('GET', '/health')).status).toBe(200);
      expect(await hit('GET', '/api/messages', tokens.viewer)).toEqual({ status: 200, body: { phones: ['+91******3210'], role: 'viewer' } });
      expect((await hit('POST', '/api/campaigns/c7/cancel', tokens.viewer)).status).toBe(403);
      expect((await hit('POST', '/api/campaigns/c7/cancel', tokens.operator)).status).toBe(200);
      expect((await hit('GET', '/api/tokens', tokens.operator)).status).toBe(403);
      expect((await hit('GET', '/api/tokens', tokens.owner)).status).toBe(200);
      expect((await hit('GET', '/api/messages')).status).toBe(401);
      expect(await c.prisma.auditLog.count({ where: { action: 'campaign.cancel', target: 'c7' } })).toBe(1);
    } finally {
      await api.close();
    }
  });
});
