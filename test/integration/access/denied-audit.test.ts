/**
 * Refused requests leave an `access.denied` audit entry, through real HTTP against the real API: a missing, unknown
 * or revoked token (401), a viewer on a write route and an address outside API_ALLOW_IPS (403). The entry names the
 * route pattern (never the raw URL), the method, the reason, the address and the token id when known (never the
 * token); at most one per address and reason a minute, the rest counted as `dropped`. `bulksms audit` shows them.
 */
import type { FastifyRequest } from 'fastify';
import { createToken, revokeToken } from '../../../src/access/tokens';
import { deniedAccessRecorder } from '../../../src/access/denied-audit';
import { wiredServices } from '../../../src/cli/commands/serve';
import { createContainer } from '../../../src/container';
import { createLogger } from '../../../src/logger';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { TEST_API_TOKEN, http, startApi } from '../../helpers/api-server';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });

interface DeniedEntry {
  tokenId: string | null;
  target: string | null;
  ip: string | null;
  details: { method: string; reason: string; status: number; dropped: number };
}

async function deniedEntries(): Promise<DeniedEntry[]> {
  const rows = await env.container().prisma.auditLog.findMany({ where: { action: 'access.denied' }, orderBy: { id: 'asc' } });
  return rows.map((r) => ({ tokenId: r.tokenId, target: r.target, ip: r.ip, details: r.details as unknown as DeniedEntry['details'] }));
}

describe('access.denied audit entries', () => {
  it('records each kind of refusal once per address and reason, counting the rest, and bulksms audit shows them', async () => {
    const c = env.container();
    const api = await startApi(c, wiredServices(), { dashboard: false });
    const revoked = await createToken(c, { role: 'operator' });
    await revokeToken(c, revoked.tokenId);
    const viewer = await createToken(c, { role: 'viewer' });
    const unknown = 'bsms_unknown-token-000000000000000000000000000';
    const campaign = '00000000-0000-4000-8000-000000000000';
    const statuses = [];
    try {
      // The raw URL holds a phone number: the entry names the route pattern only.
      statuses.push((await http('DELETE', `${api.url}/api/suppressions/%2B919876543210?reason=x`, { token: null })).status);
      statuses.push((await http('GET', `${api.url}/api/campaigns`, { token: revoked.token })).status);
      for (let i = 0; i < 4; i++) statuses.push((await http('GET', `${api.url}/api/lists`, { token: unknown })).status);
      statuses.push((await http('GET', `${api.url}/api/campaigns`, { token: null })).status);
      for (let i = 0; i < 3; i++) statuses.push((await http('POST', `${api.url}/api/campaigns/${campaign}/pause`, { token: viewer.token })).status);
      // Not refusals: nothing recorded.
      statuses.push((await http('GET', `${api.url}/api/campaigns`, { token: viewer.token })).status);
      statuses.push((await http('GET', `${api.url}/health`, { token: null })).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 401, 403, 403, 403, 200, 200]);
      // Written before the answer: the first of each kind is there at once; the counts come with the window's end.
      expect((await deniedEntries()).map((e) => [e.details.reason, e.details.dropped])).toEqual([
        ['missing_token', 0],
        ['invalid_token', 0],
        ['forbidden', 0],
      ]);
    } finally {
      await api.close();
    }
    const entries = await deniedEntries();
    expect(entries).toEqual([
      { tokenId: null, target: '/api/suppressions/:phone', ip: '127.0.0.1', details: { method: 'DELETE', reason: 'missing_token', status: 401, dropped: 1 } },
      { tokenId: revoked.tokenId, target: '/api/campaigns', ip: '127.0.0.1', details: { method: 'GET', reason: 'invalid_token', status: 401, dropped: 4 } },
      { tokenId: viewer.tokenId, target: '/api/campaigns/:id/pause', ip: '127.0.0.1', details: { method: 'POST', reason: 'forbidden', status: 403, dropped: 2 } },
    ]);
    const written = JSON.stringify(entries);
    for (const secret of [revoked.token, viewer.token, unknown, '9876543210', campaign]) expect(written).not.toContain(secret);

    const text = await runCli(['audit', '--action', 'access.denied'], env.env, { timeoutMs: 60_000 });
    expect(text.code).toBe(0);
    expect(text.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`access\\.denied +/api/campaigns/:id/pause  token=${viewer.tokenId} ip=127\\.0\\.0\\.1 POST forbidden 403 \\(\\+2 more not written\\)$`)),
      expect.stringMatching(new RegExp(`access\\.denied +/api/campaigns  token=${revoked.tokenId} ip=127\\.0\\.0\\.1 GET invalid_token 401 \\(\\+4 more not written\\)$`)),
      expect.stringMatching(/access\.denied +\/api\/suppressions\/:phone {2}token=- ip=127\.0\.0\.1 DELETE missing_token 401 \(\+1 more not written\)$/),
    ]);
    const json = await runCli(['audit', '--action', 'access.denied', '--limit', '1', '--json'], env.env, { timeoutMs: 60_000 });
    expect(JSON.parse(json.stdout).entries).toEqual([expect.objectContaining({ action: 'access.denied', tokenId: viewer.tokenId, details: entries[2]!.details })]);
  }, 120_000);

  it('records a request from an address outside API_ALLOW_IPS', async () => {
    const fenced = createContainer({ config: { ...env.config, API_ALLOW_IPS: '10.0.0.0/8' }, logger: createLogger({ level: 'silent' }) });
    const api = await startApi(fenced, wiredServices(), { dashboard: false });
    const before = (await deniedEntries()).length;
    try {
      expect((await http('GET', `${api.url}/api/lists`)).status).toBe(403);
    } finally {
      await api.close();
      await fenced.close();
    }
    expect((await deniedEntries()).slice(before)).toEqual([
      { tokenId: null, target: '/api/lists', ip: '127.0.0.1', details: { method: 'GET', reason: 'ip_not_allowed', status: 403, dropped: 0 } },
    ]);
  });

  it('records a delivery-report callback with a wrong or missing webhook secret, never the secret it was sent', async () => {
    const secret = 'webhook-secret-0123456789abcdef';
    const hooked = createContainer({ config: { ...env.config, WEBHOOK_SECRET: secret }, logger: createLogger({ level: 'silent' }) });
    const api = await startApi(hooked, wiredServices(), { dashboard: false });
    const before = (await deniedEntries()).length;
    const guess = 'guessed-secret-0123456789';
    const form = { token: null, body: 'SessionId=s-1&SmsTo=919800000001&SmsStatus=DELIVERED', headers: { 'content-type': 'application/x-www-form-urlencoded' } };
    const statuses = [];
    try {
      for (let i = 0; i < 3; i++) statuses.push((await http('POST', `${api.url}/webhooks/dlr/${guess}`, form)).status);
      statuses.push((await http('POST', `${api.url}/webhooks/dlr/`, form)).status);
      // The right secret is no refusal (the callback names no message: applied to nothing).
      statuses.push((await http('POST', `${api.url}/webhooks/dlr/${secret}`, form)).status);
    } finally {
      await api.close();
      await hooked.close();
    }
    expect(statuses).toEqual([401, 401, 401, 401, 200]);
    const entries = (await deniedEntries()).slice(before);
    expect(entries).toEqual([
      { tokenId: null, target: '/webhooks/dlr/:secret', ip: '127.0.0.1', details: { method: 'POST', reason: 'invalid_webhook_secret', status: 401, dropped: 2 } },
      { tokenId: null, target: '/webhooks/dlr/:secret', ip: '127.0.0.1', details: { method: 'POST', reason: 'missing_webhook_secret', status: 401, dropped: 0 } },
    ]);
    expect(JSON.stringify(entries)).not.toContain(guess);
  });

  // A stolen owner token probing for another token's OTP challenge (to ride on that owner's SMS) was answered
  // otp_unknown and left no trace: only a token's own failed verifications were audited (otp.verify.failed).
  it('records an OTP verification naming a challenge that is not the caller\'s, never the OTP tried', async () => {
    const c = env.container();
    const victim = await createToken(c, { role: 'owner', phone: '+919800000011' });
    const prober = await createToken(c, { role: 'owner', phone: '+919800000022' });
    // The victim's pending challenge, as requestOtp leaves it once 2Factor answered (no SMS needed here).
    const theirs = await c.prisma.otpGrant.create({ data: { tokenId: victim.tokenId, phone: '+919800000011', sessionId: 'session-victim-1' } });
    const api = await startApi(c, wiredServices(), { dashboard: false });
    const before = (await deniedEntries()).length;
    const tried = '481516';
    const probe = (challengeId: string) => http('POST', `${api.url}/api/access/otp/verify`, { token: prober.token, json: { challengeId, otp: tried } });
    const answers = [];
    try {
      answers.push(await probe(theirs.id));
      answers.push(await probe('9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab'));
      answers.push(await probe(theirs.id));
    } finally {
      await api.close();
    }
    expect(answers.map((a) => [a.status, a.json<{ error: { code: string } }>().error.code])).toEqual([
      [400, 'otp_unknown'],
      [400, 'otp_unknown'],
      [400, 'otp_unknown'],
    ]);
    const entries = (await deniedEntries()).slice(before);
    expect(entries).toEqual([
      {
        tokenId: prober.tokenId,
        target: '/api/access/otp/verify',
        ip: '127.0.0.1',
        details: { method: 'POST', reason: 'unknown_otp_challenge', status: 400, dropped: 2 },
      },
    ]);
    expect(JSON.stringify(entries)).not.toContain(tried);
    // The victim's challenge is untouched: no attempt counted against its owner's budget.
    expect((await c.prisma.otpGrant.findUniqueOrThrow({ where: { id: theirs.id } })).attempts).toBe(0);
  });
});

describe('deniedAccessRecorder windows', () => {
  it('writes one entry per address and reason a window; the next window gets its own and the last one its count', async () => {
    const c = env.container();
    await c.prisma.auditLog.deleteMany({ where: { action: 'access.denied' } });
    let now = 1_000_000;
    const recorder = deniedAccessRecorder(c, { windowMs: 60_000, maxKeys: 2, now: () => now });
    const from = (ip: string) => ({ ip, method: 'GET', routeOptions: { url: '/api/lists' }, log: c.logger }) as unknown as FastifyRequest;
    const bad = { status: 401, reason: 'invalid_token' } as const;
    try {
      for (let i = 0; i < 3; i++) await recorder.record(from('10.0.0.1'), bad);
      await recorder.record(from('10.0.0.2'), bad);
      // A third address while two windows are open: one shared window for every further address.
      for (const ip of ['10.0.0.3', '10.0.0.4', '10.0.0.5']) await recorder.record(from(ip), bad);
      now += 60_000;
      await recorder.record(from('10.0.0.1'), bad);
    } finally {
      await recorder.close();
    }
    const entries = await deniedEntries();
    expect(entries.map((e) => [e.ip, e.details.reason, e.details.dropped])).toEqual([
      ['10.0.0.1', 'invalid_token', 2],
      ['10.0.0.2', 'invalid_token', 0],
      ['10.0.0.3', 'many_sources', 2],
      ['10.0.0.1', 'invalid_token', 0],
    ]);
  });
});
