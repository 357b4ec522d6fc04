/**
 * Access control wired into the real HTTP API (buildServer): role tokens, route levels, phone masking,
 * the SMS-OTP second factor against the 2Factor simulator, and the audit log.
 */
import nodeHttp from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'csv-parse/sync';
import { FormData, request } from 'undici';
import { createToken } from '../../../src/access/tokens';
import { createContainer, type Container } from '../../../src/container';
import { createLogger } from '../../../src/logger';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';
import { useTestEnv } from '../../helpers/env';
import { stubServices } from '../../helpers/api-services';
import { seedCampaign } from '../../helpers/api-fixtures';
import { TEST_API_TOKEN, http, startApi, type RunningApi } from '../../helpers/api-server';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });
let sim: RunningSimulator;
let c: Container;
let api: RunningApi;
const tokens = { owner: '', operator: '', viewer: '' };

beforeAll(async () => {
  sim = await startSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, port: 0 });
  // The API's OTP client reads TWOFACTOR_BASE_URL, known only once the simulator listens.
  c = createContainer({ config: { ...env.config, TWOFACTOR_BASE_URL: sim.url }, logger: createLogger({ level: 'silent' }) });
  tokens.owner = (await createToken(c, { role: 'owner', phone: '+919876543210' })).token;
  tokens.operator = (await createToken(c, { role: 'operator' })).token;
  tokens.viewer = (await createToken(c, { role: 'viewer' })).token;
  api = await startApi(c, stubServices(), { dashboard: false });
});

env.cleanup(async () => {
  await api?.close();
  await c?.close();
  await sim?.close();
});

describe('access control in the HTTP API', () => {
  it('enforces roles, masks phones, and unmasks them for an owner after an SMS OTP', async () => {
    const { campaignId } = await seedCampaign(c, [{ phone: '+919800000001', status: 'failed', failureReason: 'DND' }]);
    const phones = async (token: string) =>
      (await http('GET', `${api.url}/api/campaigns/${campaignId}/messages`, { token })).json<{ items: { phone: string }[] }>().items.map((m) => m.phone);

    for (const token of [tokens.viewer, tokens.operator, tokens.owner, TEST_API_TOKEN]) expect(await phones(token)).toEqual(['+91******0001']);
    expect((await http('POST', `${api.url}/api/campaigns/${campaignId}/pause`, { token: tokens.viewer })).status).toBe(403);
    expect((await http('POST', `${api.url}/api/campaigns/${campaignId}/pause`, { token: tokens.operator })).status).toBe(200);
    // HEAD is the GET it mirrors: what a viewer may read, it may HEAD (it was the owner-only default: 403).
    for (const path of ['/api/lists', `/api/campaigns/${campaignId}`, `/api/campaigns/${campaignId}/messages`]) {
      const head = await request(`${api.url}${path}`, { method: 'HEAD', headers: { authorization: `Bearer ${tokens.viewer}` } });
      await head.body.dump();
      expect([path, head.statusCode]).toEqual([path, 200]);
    }
    expect((await http('GET', `${api.url}/api/campaigns`, { token: 'bsms_revoked-or-unknown-token-000000000000000' })).status).toBe(401);

    const challenge = (await http('POST', `${api.url}/api/access/otp`, { token: tokens.owner })).json<{ challengeId: string; sentTo: string }>();
    expect(challenge.sentTo).toBe('+91******3210');
    const grant = await c.prisma.otpGrant.findUniqueOrThrow({ where: { id: challenge.challengeId } });
    const otp = sim.stats().otps[grant.sessionId]!;
    const verified = await http('POST', `${api.url}/api/access/otp/verify`, { token: tokens.owner, json: { challengeId: challenge.challengeId, otp } });
    expect(verified.status).toBe(200);

    expect(await phones(tokens.owner)).toEqual(['+919800000001']);
    expect(await phones(tokens.viewer)).toEqual(['+91******0001']);
    // The grant is the verifying address's: the same token from another address (stolen) still sees them masked.
    const elsewhere = await new Promise<string>((resolve, reject) => {
      const u = new URL(`${api.url}/api/campaigns/${campaignId}/messages`);
      nodeHttp
        .get({ host: u.hostname, port: u.port, path: u.pathname, localAddress: '127.0.0.2', headers: { authorization: `Bearer ${tokens.owner}` } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect((JSON.parse(elsewhere) as { items: { phone: string }[] }).items.map((m) => m.phone)).toEqual(['+91******0001']);
    const csv = await http('GET', `${api.url}/api/campaigns/${campaignId}/failures.csv`, { token: tokens.owner });
    const rows = parse(csv.text, { columns: true }) as { phone: string }[];
    expect(rows.map((r) => r.phone)).toEqual(["'+919800000001"]);

    const audit = await c.prisma.auditLog.findMany({ orderBy: { id: 'asc' } });
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['campaign.pause', 'otp.request', 'otp.verify', 'message.list']),
    );
    const pause = audit.find((a) => a.action === 'campaign.pause')!;
    expect(pause).toMatchObject({ target: campaignId, ip: '127.0.0.1' });
    const unmasked = audit.filter((a) => a.action === 'message.list');
    expect(unmasked.length).toBe(2); // the owner's two unmasked reads (JSON + CSV), nobody's masked ones
  });

  it('masks the numbers the provider\'s texts quote wherever phones are masked, and shows them with an OTP grant', async () => {
    // 2Factor's answer for one recipient, quoting it; the second differs only in digits the masking hides.
    const answer = (digits: string) => `Invalid Phone Number - ${digits}`;
    const { campaignId } = await seedCampaign(c, [
      { phone: '+919800000002', status: 'failed', outcomeClass: 'permanent_recipient', providerText: answer('919800000002'), failureReason: `rejected for this recipient: ${answer('919800000002')}` },
      { phone: '+919811110002', status: 'failed', outcomeClass: 'permanent_recipient', providerText: answer('919811110002'), failureReason: `rejected for this recipient: ${answer('919811110002')}` },
    ], { status: 'paused' });
    // An account- or campaign-fatal answer pauses the campaign with the provider's text as the reason.
    await c.prisma.campaign.update({ where: { id: campaignId }, data: { pauseReason: answer('919800000002') } });
    const shown = async (token: string) => {
      const get = (path: string) => http('GET', `${api.url}/api/campaigns${path}`, { token });
      const messages = (await get(`/${campaignId}/messages`)).json<{ items: { providerText: string; failureReason: string }[] }>().items;
      const csv = parse((await get(`/${campaignId}/failures.csv`)).text, { columns: true }) as { provider_text: string; failure_reason: string }[];
      const listed = (await get('?limit=100')).json<{ items: { id: string; pauseReason: string }[] }>().items.find((i) => i.id === campaignId);
      return {
        messages: messages.map((m) => [m.providerText, m.failureReason]),
        csv: csv.map((r) => [r.provider_text, r.failure_reason]),
        reasons: (await get(`/${campaignId}/failure-reasons`)).json<{ items: { reason: string; count: number }[] }>().items.map((r) => [r.reason, r.count]),
        pauseReason: [(await get(`/${campaignId}`)).json<{ pauseReason: string }>().pauseReason, listed?.pauseReason],
      };
    };
    const masked = answer('********0002');
    // Failures by reason: each text quotes its own recipient, so both are one reason, the number said in words.
    const byReason = [[`rejected for this recipient: ${answer("(the recipient's number)")}`, 2]];
    for (const token of [tokens.viewer, tokens.operator, TEST_API_TOKEN]) {
      expect(await shown(token)).toEqual({
        messages: [[masked, `rejected for this recipient: ${masked}`], [masked, `rejected for this recipient: ${masked}`]],
        csv: [[masked, `rejected for this recipient: ${masked}`], [masked, `rejected for this recipient: ${masked}`]],
        reasons: byReason,
        pauseReason: [masked, masked],
      });
    }

    // An owner with a fresh SMS-OTP grant sees them as the provider wrote them.
    const owner = (await createToken(c, { role: 'owner', phone: '+919876543211' })).token;
    const challenge = (await http('POST', `${api.url}/api/access/otp`, { token: owner })).json<{ challengeId: string }>();
    const { sessionId } = await c.prisma.otpGrant.findUniqueOrThrow({ where: { id: challenge.challengeId } });
    const verify = { challengeId: challenge.challengeId, otp: sim.stats().otps[sessionId]! };
    expect((await http('POST', `${api.url}/api/access/otp/verify`, { token: owner, json: verify })).status).toBe(200);
    const clear = [answer('919800000002'), answer('919811110002')];
    expect(await shown(owner)).toEqual({
      messages: clear.map((t) => [t, `rejected for this recipient: ${t}`]),
      csv: clear.map((t) => [t, `rejected for this recipient: ${t}`]),
      reasons: byReason,
      pauseReason: [clear[0], clear[0]],
    });
  });

  it('audits a campaign action once its request passed validation (a malformed id is a 400 and no action), with its outcome', async () => {
    const { campaignId } = await seedCampaign(c, [{ phone: '+919800000003', status: 'failed' }]);
    const before = await c.prisma.auditLog.count();
    // A NUL in the id failed the audit insert (PostgreSQL text) as a 500 before the NUL guard could answer.
    for (const id of ['x%00y', 'not-a-campaign-id']) {
      const refused = await http('POST', `${api.url}/api/campaigns/${id}/cancel`, { token: tokens.operator });
      expect({ id, status: refused.status, code: refused.json<{ error: { code: string } }>().error.code }).toEqual({ id, status: 400, code: 'validation' });
    }
    expect(await c.prisma.auditLog.count()).toBe(before);

    expect((await http('POST', `${api.url}/api/campaigns/${campaignId}/cancel`, { token: tokens.operator })).status).toBe(200);
    // A well-formed id of no campaign: tried (audited) and refused — the entry says how it was answered.
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await http('POST', `${api.url}/api/campaigns/${unknown}/cancel`, { token: tokens.operator })).status).toBe(404);
    // The outcome is added once the answer is out: read until both entries carry it.
    const entries = async () =>
      (await c.prisma.auditLog.findMany({ orderBy: { id: 'asc' }, skip: before })).map((r) => [r.action, r.target, (r.details as { status?: number }).status]);
    let rows = await entries();
    for (const end = Date.now() + 5000; rows.some((r) => r[2] === undefined) && Date.now() < end; rows = await entries()) await new Promise((r) => setTimeout(r, 20));
    expect(rows).toEqual([['campaign.cancel', campaignId, 200], ['campaign.cancel', unknown, 404]]);
  });
  it('answers a path that is no route 404 for every role, not a 403 and an access.denied entry', async () => {
    // Unknown routes fell to the owner-only default level: a viewer's typo read "role viewer may not use this route
    // (admin)" (as if the route existed and needed more rights) and was audited as a refused access.
    for (const token of [tokens.viewer, tokens.operator, tokens.owner]) {
      const res = await http('GET', `${api.url}/api/campaign`, { token });
      expect([res.status, res.json<{ error: { code: string; message: string } }>().error]).toEqual([
        404, { code: 'not_found', message: 'no route GET /api/campaign' },
      ]);
    }
    expect(await c.prisma.auditLog.count({ where: { action: 'access.denied', target: '(no route)' } })).toBe(0);
    // Still behind the token: an unknown path under /api is a 401 without one.
    expect((await http('GET', `${api.url}/api/campaign`, { token: null })).status).toBe(401);
    // Routes nobody listed keep the owner-only default: bull-board's, once it is mounted (this file's server has none).
    const board = await startApi(c, stubServices(), { queueNames: ['send'] });
    try {
      for (const [token, status] of [[tokens.operator, 403], [tokens.viewer, 403], [tokens.owner, 200]] as const) {
        expect([token === tokens.owner, (await http('GET', `${board.url}/queues/api/queues`, { token })).status]).toEqual([token === tokens.owner, status]);
      }
      expect((await http('GET', `${board.url}/queues`, { token: tokens.operator })).status).toBe(403);
    } finally {
      await board.close();
    }
  });

  it('audits a refused OTP request (a viewer asking for one) as access.denied, like every other 403', async () => {
    // The route is open to every role (read), the refusal is the OTP code's own: it left no trace, so a viewer's script
    // asking for the SMS that unmasks phones went unseen. A server of its own: refusals are audited once a minute per
    // address and reason, and this file's server has refused a viewer already.
    const viewer = await c.prisma.apiToken.findFirstOrThrow({ where: { role: 'viewer' } });
    const own = await startApi(c, stubServices(), { dashboard: false });
    let refused;
    try {
      refused = await http('POST', `${own.url}/api/access/otp`, { token: tokens.viewer });
    } finally {
      await own.close();
    }
    expect([refused.status, refused.json<{ error: { code: string } }>().error.code]).toEqual([403, 'forbidden']);
    expect(await c.prisma.auditLog.findMany({ where: { action: 'access.denied', target: '/api/access/otp' }, select: { tokenId: true, details: true } })).toEqual([
      { tokenId: viewer.id, details: { method: 'POST', reason: 'forbidden', status: 403, dropped: 0 } },
    ]);
  });

  it('says why the SMS OTP is not available on a server without a 2Factor key, instead of "no route"', async () => {
    const keyless = createContainer({ config: { ...env.config, TWOFACTOR_API_KEY: undefined }, logger: createLogger({ level: 'silent' }) });
    const own = await startApi(keyless, stubServices(), { dashboard: false });
    try {
      const me = await http('GET', `${own.url}/api/access/me`, { token: tokens.owner });
      expect(me.json()).toMatchObject({ role: 'owner', otp: { available: false } });
      for (const path of ['/api/access/otp', '/api/access/otp/verify']) {
        const res = await http('POST', `${own.url}${path}`, { token: tokens.owner, json: {} });
        expect([path, res.status, res.json<{ error: { code: string; message: string } }>().error]).toEqual([
          path, 503, { code: 'otp_unavailable', message: expect.stringContaining('TWOFACTOR_API_KEY is not set') as string },
        ]);
      }
      // Still only an owner's to ask for.
      expect((await http('POST', `${own.url}/api/access/otp`, { token: tokens.viewer })).status).toBe(403);
    } finally {
      await own.close();
      await keyless.close();
    }
  });

  it('names what a create made in its audit entry: the campaign, the list, the suppressed number (masked)', async () => {
    const before = await c.prisma.auditLog.count();
    const form = new FormData();
    form.append('name', 'audited-list');
    form.append('file', new Blob(['phone\n9800000004\n']), 'audited.csv');
    const listed = await http('POST', `${api.url}/api/lists`, { token: tokens.operator, body: form });
    expect(listed.status).toBe(201);
    const { listId } = listed.json<{ listId: string }>();
    const created = await http('POST', `${api.url}/api/campaigns`, {
      token: tokens.operator,
      json: { name: 'audited', list: listId, type: 'transactional', from: 'BULKSM', text: 'hello' },
    });
    expect(created.status).toBe(201);
    const { campaignId } = created.json<{ campaignId: string }>();
    expect((await http('POST', `${api.url}/api/suppressions`, { token: tokens.operator, json: { phone: '098000 00005' } })).status).toBe(200);
    // The target and the outcome are added once the answer is out: read until every entry carries its status.
    const entries = async () =>
      (await c.prisma.auditLog.findMany({ orderBy: { id: 'asc' }, skip: before })).map((r) => {
        const details = r.details as { status?: number; phone?: string };
        return [r.action, r.target, details.status, details.phone];
      });
    let rows = await entries();
    for (const end = Date.now() + 5000; rows.some((r) => r[2] === undefined) && Date.now() < end; rows = await entries()) await new Promise((r) => setTimeout(r, 20));
    expect(rows).toEqual([
      ['list.import', listId, 201, undefined],
      ['campaign.create', campaignId, 201, undefined],
      ['suppression.add', null, 200, '+91******0005'],
    ]);
  });
});

describe('a refused OTP send', () => {
  it('says what 2Factor answered with the numbers it quotes masked', async () => {
    // A 2Factor look-alike whose OTP answer quotes the number (the simulator's does not).
    const provider = nodeHttp.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ Status: 'Error', Details: 'Invalid Phone Number - 919876543212 is on the DND list' }));
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
    const refusing = createContainer({ config: { ...env.config, TWOFACTOR_BASE_URL: base }, logger: createLogger({ level: 'silent' }) });
    const refusingApi = await startApi(refusing, stubServices(), { dashboard: false });
    try {
      const owner = (await createToken(refusing, { role: 'owner', phone: '+919876543212' })).token;
      const res = await http('POST', `${refusingApi.url}/api/access/otp`, { token: owner });
      expect(res.status).toBe(503);
      const { message } = res.json<{ error: { message: string } }>().error;
      expect(message).toContain('Invalid Phone Number - ********3212 is on the DND list');
      expect(message).not.toContain('98765');
    } finally {
      await refusingApi.close();
      await refusing.close();
      await new Promise((resolve) => provider.close(resolve));
    }
  });
});
