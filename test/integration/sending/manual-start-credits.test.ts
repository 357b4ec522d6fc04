/**
 * Manual starts check the provider balance before materialising a run (issue: campaign lifecycle): `campaign
 * start` and `send` in a subprocess (the 2Factor client built from TWOFACTOR_BASE_URL / TWOFACTOR_API_KEY), and
 * `POST /api/campaigns/:id/start` over the real services, all against the simulator with a small balance.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { wiredServices } from '../../../src/cli/commands/serve';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';
import { createTwoFactorProvider } from '../../../src/provider/twofactor/client';
import { createLogger } from '../../../src/logger';
import { useTestEnv } from '../../helpers/env';
import { runCli, type CliResult } from '../../helpers/cli';
import { TEST_API_TOKEN, closedPort, http, startApi, type RunningApi } from '../../helpers/api-server';
import { seedCampaign, statusCounts } from '../../helpers/sending-fixtures';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });
const KEY = env.config.TWOFACTOR_API_KEY!;
let sim: RunningSimulator;
let api: RunningApi;
let deadPort: number;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, rate: null, latencyMs: [0, 0], balance: 2 });
  deadPort = await closedPort();
  const provider = createTwoFactorProvider({ baseUrl: sim.url, apiKey: KEY, timeoutMs: 5000, connections: 2, logger: createLogger({ level: 'silent' }) });
  env.container().onClose('test-provider', () => provider.close());
  api = await startApi(env.container(), wiredServices(provider), { dashboard: false });
});
env.cleanup(async () => {
  await api?.close();
  await sim?.close();
});

const cli = (args: string[], baseUrl = sim.url): Promise<CliResult> => runCli(args, { ...env.env, TWOFACTOR_BASE_URL: baseUrl });
const json = (r: CliResult) => JSON.parse(r.stdout) as Record<string, unknown> & { error?: { code: string; message: string } };

/** Status, runs and messages of a campaign, to prove a refused start changed nothing. */
async function state(campaignId: string): Promise<{ status: string; runs: number; messages: number }> {
  const { rows } = await env.container().pg.query<{ status: string; runs: number; messages: number }>(
    `SELECT status::text AS status, (SELECT count(*)::int FROM campaign_runs WHERE campaign_id = c.id) AS runs,
            (SELECT count(*)::int FROM messages WHERE campaign_id = c.id) AS messages
       FROM campaigns c WHERE id = $1`,
    [campaignId],
  );
  return rows[0]!;
}

// Three recipients of a one-segment text: 3 TRANSACTIONAL_SMS credits; the simulator holds 2.
const threeRecipients = async () => (await seedCampaign(env.container().pg, { recipients: 3 })).campaignId;

describe('bulksms campaign start: balance check', () => {
  it('refuses when the balance is too low (exit 2, needed vs available, --force named) and materialises nothing', async () => {
    const id = await threeRecipients();
    const r = await cli(['campaign', 'start', id, '--json']);
    expect(r.code).toBe(2);
    expect(json(r).error).toMatchObject({ code: 'conflict', overridableBy: 'force' });
    expect(json(r).error!.message).toMatch(/needs 3 TRANSACTIONAL_SMS credits but the provider balance is 2 \(short by 1\).*--force/);
    expect(r.stderr).toMatch(/needs 3 TRANSACTIONAL_SMS credits/);
    expect(await state(id)).toEqual({ status: 'draft', runs: 0, messages: 0 });

    // --force overrides: the run is materialised and the campaign runs.
    const forced = await cli(['campaign', 'start', id, '--force', '--json']);
    expect({ code: forced.code, status: json(forced).status }).toEqual({ code: 0, status: 'running' });
    expect(await state(id)).toEqual({ status: 'running', runs: 1, messages: 3 });
  }, 120_000);

  it('refuses when the balance cannot be read (exit 1), and --force starts without asking', async () => {
    const id = await threeRecipients();
    const dead = `http://127.0.0.1:${deadPort}`;
    const r = await cli(['campaign', 'start', id], dead);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not started: could not read the TRANSACTIONAL_SMS balance from the provider .*--force/);
    expect(r.stderr).not.toContain(KEY);
    expect(await state(id)).toEqual({ status: 'draft', runs: 0, messages: 0 });
    const forced = await cli(['campaign', 'start', id, '--force', '--json'], dead);
    expect({ code: forced.code, status: json(forced).status }).toEqual({ code: 0, status: 'running' });
  }, 120_000);

  it('starts when the balance covers the run', async () => {
    const id = await threeRecipients();
    sim.configure({ balance: 3 });
    try {
      const r = await cli(['campaign', 'start', id, '--json']);
      expect({ code: r.code, status: json(r).status }).toEqual({ code: 0, status: 'running' });
      expect(await state(id)).toEqual({ status: 'running', runs: 1, messages: 3 });
    } finally {
      sim.configure({ balance: 2 });
    }
  }, 120_000);
});

describe('bulksms send: balance check', () => {
  it('refuses before sending when the balance is too low; sends when it covers the run', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-credits-'));
    const csv = path.join(dir, 'three.csv');
    await writeFile(csv, 'phone,name\n9876500001,A\n9876500002,B\n9876500003,C\n');
    const args = ['send', csv, '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--json'];
    // Another campaign runs in the database with no worker sending it, and the balance answer takes a while: a
    // refused send must not send anything for anyone (its worker, started before the check, used to send those).
    const other = await threeRecipients();
    expect((await cli(['campaign', 'start', other, '--force', '--json'])).code).toBe(0);
    sim.configure({ latencyMs: [400, 400] });
    let refused: CliResult;
    try {
      refused = await cli([...args, '--list', 'send-poor']);
    } finally {
      sim.configure({ latencyMs: [0, 0] });
    }
    expect(refused.code).toBe(2);
    expect(json(refused).error!.message).toMatch(/needs 3 TRANSACTIONAL_SMS credits but the provider balance is 2.*--force/);
    const { rows } = await env.container().pg.query<{ id: string }>(
      `SELECT c.id FROM campaigns c JOIN contact_lists l ON l.id = c.list_id WHERE l.name = 'send-poor'`,
    );
    expect(rows).toHaveLength(1);
    expect(await state(rows[0]!.id)).toEqual({ status: 'draft', runs: 0, messages: 0 });
    expect(sim.stats().acceptedRecipients).toBe(0);
    expect(await statusCounts(env.container().pg, other)).toEqual({ pending: 3 });

    sim.configure({ balance: 100 });
    try {
      const sent = await cli([...args, '--list', 'send-rich', '--wait-reports', '0']);
      expect(sent.code).toBe(0);
      expect(json(sent)).toMatchObject({ status: 'completed', counts: { sent: 3 } });
    } finally {
      sim.configure({ balance: 2 });
    }
  }, 180_000);
});

describe('POST /api/campaigns/:id/start: balance check', () => {
  type ErrorBody = { error: { code: string; message: string; overridableBy?: string } };
  const start = (id: string, body: unknown = {}) => http('POST', `${api.url}/api/campaigns/${id}/start`, { json: body });

  it('409 when the balance is too low (nothing materialised); {force: true} starts', async () => {
    const id = await threeRecipients();
    const refused = await start(id);
    expect(refused.status).toBe(409);
    // Said in a field too, so a client (the dashboard's "Start anyway") need not read the message.
    expect(refused.json<ErrorBody>().error).toMatchObject({ code: 'conflict', overridableBy: 'force' });
    // The API caller's name for the override, not the CLI's `--force`.
    expect(refused.json<ErrorBody>().error.message).toMatch(/needs 3 TRANSACTIONAL_SMS credits but the provider balance is 2.*start with force to send/);
    expect(refused.json<ErrorBody>().error.message).not.toContain('--force');
    expect(await state(id)).toEqual({ status: 'draft', runs: 0, messages: 0 });
    // A body-less POST is checked the same way.
    expect((await http('POST', `${api.url}/api/campaigns/${id}/start`)).status).toBe(409);

    const forced = await start(id, { force: true });
    expect(forced.status).toBe(200);
    expect(forced.json()).toMatchObject({ campaignId: id, status: 'running' });
    expect(await state(id)).toEqual({ status: 'running', runs: 1, messages: 3 });
    // Starting a running campaign stays idempotent: no balance question, no second run.
    expect((await start(id)).json()).toMatchObject({ status: 'running' });
    expect((await state(id)).runs).toBe(1);
  });

  it('a refusal force cannot get past (a finished campaign) names no override', async () => {
    const id = await threeRecipients();
    expect((await start(id, { force: true })).status).toBe(200);
    expect((await http('POST', `${api.url}/api/campaigns/${id}/cancel`)).status).toBe(200);
    const refused = await start(id, { force: true });
    expect(refused.status).toBe(409);
    expect(refused.json<ErrorBody>().error.code).toBe('conflict');
    expect(refused.json<ErrorBody>().error).not.toHaveProperty('overridableBy');
  });

  it('starts when the balance covers the run', async () => {
    const id = await threeRecipients();
    sim.configure({ balance: 1000 });
    try {
      const res = await start(id);
      expect(res.status).toBe(200);
      expect(await state(id)).toEqual({ status: 'running', runs: 1, messages: 3 });
    } finally {
      sim.configure({ balance: 2 });
    }
  });

  it('503 when the provider cannot be reached, unless forced', async () => {
    const dead = createTwoFactorProvider({
      baseUrl: `http://127.0.0.1:${deadPort}`, apiKey: KEY, timeoutMs: 2000, connections: 1, logger: createLogger({ level: 'silent' }),
    });
    const deadApi = await startApi(env.container(), wiredServices(dead), { dashboard: false });
    try {
      const id = await threeRecipients();
      const res = await http('POST', `${deadApi.url}/api/campaigns/${id}/start`, { json: {} });
      expect(res.status).toBe(503);
      expect(res.json<ErrorBody>().error.overridableBy).toBe('force');
      expect(res.json<ErrorBody>().error.message).toMatch(/could not read the TRANSACTIONAL_SMS balance.*start with force to skip the balance check$/);
      expect(res.json<ErrorBody>().error.message).not.toContain('--force');
      expect(await state(id)).toEqual({ status: 'draft', runs: 0, messages: 0 });
      expect((await http('POST', `${deadApi.url}/api/campaigns/${id}/start`, { json: { force: true } })).status).toBe(200);
    } finally {
      await deadApi.close();
      await dead.close();
    }
  });
});
