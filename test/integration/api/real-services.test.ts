/**
 * The API over the real domain services (importer, campaign service, sending engine, delivery webhook) and the
 * 2Factor simulator, which pushes its delivery reports to the API's webhook.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FormData } from 'undici';
import { wiredServices } from '../../../src/cli/commands/serve';
import { startWorker, type RunningWorker } from '../../../src/sending/worker';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { TEST_API_TOKEN, TEST_WEBHOOK_SECRET, http, startApi, type RunningApi } from '../../helpers/api-server';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, SMS_RATE_LIMIT: '500' });
const fixture = (name: string) => readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'api', name));

function upload(name: string, file: string): FormData {
  const fd = new FormData();
  fd.append('name', name);
  fd.append('file', new Blob([fixture(file)], { type: 'text/csv' }), file);
  return fd;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface StatusBody {
  status: string;
  total: number;
  counts: Record<string, number>;
}

describe('API over the real services and the simulator', () => {
  let api: RunningApi;
  let sim: TestSimulator;
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    // The simulator needs the API's URL for its callbacks, so it starts second; starts ask it for the balance.
    api = await startApi(env.container(), wiredServices({ balance: (kind) => sim.provider().balance(kind) }), { dashboard: false });
    sim = await startTestSimulator({
      apiKey: env.config.TWOFACTOR_API_KEY!,
      rate: 500,
      dlrDelayMs: 1000,
      callbackUrl: `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`,
    });
  });
  afterAll(async () => {
    await worker?.close();
    await sim?.close();
    await api?.close();
  });

  it('rejects a bad CSV with the importer’s reason (400) and creates nothing', async () => {
    const res = await http('POST', `${api.url}/api/lists`, { body: upload('bad', 'unclosed-quote.csv') });
    expect(res.status).toBe(400);
    expect(res.json<{ error: { message: string } }>().error.message).toMatch(/unclosed-quote\.csv, line 3/);
    const lists = (await http('GET', `${api.url}/api/lists`)).json<{ items: { name: string; status: string }[] }>();
    expect(lists.items.filter((l) => l.name === 'bad' && l.status === 'ready')).toEqual([]);
  });

  it('imports, creates, starts and completes a campaign; delivery reports arrive through the webhook', async () => {
    const imported = await http('POST', `${api.url}/api/lists`, { body: upload('real', 'contacts.csv') });
    expect(imported.status).toBe(201);
    expect(imported.json()).toMatchObject({ rows: 3, accepted: 2, rejected: 1 });

    const created = await http('POST', `${api.url}/api/campaigns`, {
      json: { name: 'real', list: 'real', type: 'transactional', from: 'ACMEIN', text: 'Hello {{name}}' },
    });
    expect(created.status).toBe(201);
    const { campaignId } = created.json<{ campaignId: string }>();
    const bad = await http('POST', `${api.url}/api/campaigns`, {
      json: { name: 'x', list: 'real', type: 'transactional', from: 'ACMEIN', text: 'Hello {{nickname}}' },
    });
    expect(bad.status).toBe(400);

    expect((await http('POST', `${api.url}/api/campaigns/${campaignId}/start`, { json: {} })).json()).toMatchObject({ status: 'running' });
    worker = await startWorker(env.container(), { provider: sim.provider(), concurrency: 20 });

    const done = await waitFor('all delivered', async () => {
      const st = (await http('GET', `${api.url}/api/campaigns/${campaignId}`)).json<StatusBody>();
      if (process.env.DEBUG_E2E) console.log(st.status, JSON.stringify(st.counts), JSON.stringify(sim.sim.stats()));
      return st.status === 'completed' && st.counts.delivered === 2 ? st : undefined;
    });
    expect(done.total).toBe(2);
    expect(done.counts).toMatchObject({ delivered: 2, failed: 0, unknown: 0, pending: 0 });

    const page = (await http('GET', `${api.url}/api/campaigns/${campaignId}/messages?status=delivered`)).json<{ items: { phone: string }[] }>();
    // Phones are masked without a fresh SMS-OTP grant (src/access/policy.ts), whatever the token's role.
    expect(page.items.map((m) => m.phone).sort()).toEqual(['+91******3210', '+91******3211']);
    expect((await http('POST', `${api.url}/api/campaigns/${campaignId}/retry`, { json: {} })).json()).toEqual({ campaignId, requeued: 0, status: 'completed', archiving: 0, notRetried: { failed: 0, unknown: 0 } });
  });
});
