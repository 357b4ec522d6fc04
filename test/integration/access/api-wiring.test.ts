/**
 * Access control wired into the real HTTP API (buildServer): role tokens, route levels, phone masking,
 * the SMS-OTP second factor against the 2Factor simulator, and the audit log.
 */
import nodeHttp from 'node:http';
import { parse } from 'csv-parse/sync';
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
    expect((await http('GET', `${api.url}/queues`, { token: tokens.operator })).status).toBe(403);
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
});
