/**
 * Delivery reports pushed before the send outcome (session id) is committed are kept and applied when it lands:
 * through the real webhook route, the worker's outcome writer, the poller's backstop sweep, and end to end with
 * the simulator pushing callbacks faster than it answers the sends.
 */
import { applyParkedReports, sweepEarlyReports } from '../../../src/delivery/early-reports';
import { applyDeliveryCallback } from '../../../src/delivery/webhook';
import { startCampaign } from '../../../src/sending/campaign-control';
import { writeOutcomes } from '../../../src/sending/ledger';
import { createOutcomeWriter, startWorker } from '../../../src/sending/worker';
import { startApi, http, TEST_WEBHOOK_SECRET, type RunningApi } from '../../helpers/api-server';
import { stubServices } from '../../helpers/api-services';
import { useTestEnv } from '../../helpers/env';
import { claimTokenOf, seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import { startTestSimulator } from '../../helpers/sending-simulator';
import { seedSentMessages } from '../../fixtures/seed-messages';

const env = useTestEnv({ WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, SMS_RATE_LIMIT: '300' });

const form = (sessionId: string, smsTo: string, status = 'DELIVERED'): Record<string, string> => ({
  SessionId: sessionId,
  SmsTo: smsTo,
  SmsStatus: status,
  StatusId: status === 'DELIVERED' ? '5' : '8',
  ErrorId: status === 'DELIVERED' ? '0' : '1',
  ErrorName: status === 'DELIVERED' ? 'NO_ERROR' : 'ABSENT_SUBSCRIBER',
  ErrorPermanent: status === 'DELIVERED' ? 'false' : 'true',
});

/** Messages as a worker leaves them mid-request: claimed (`sending`, attempt 1), no session id yet. */
async function seedInFlight(name: string, phones: string[]): Promise<Map<string, string>> {
  const pg = env.container().pg;
  const s = await seedSentMessages(pg, name, phones.map((phone) => ({ phone, sessionId: 'x', status: 'sending' })));
  await pg.query(`UPDATE messages SET session_id = NULL, sent_at = NULL, attempts = 1, sending_at = now() WHERE run_id = $1`, [s.runId]);
  return s.ids;
}

async function message(id: string): Promise<{ status: string; delivered_at: Date | null; failure_reason: string | null }> {
  const { rows } = await env.container().pg.query<{ status: string; delivered_at: Date | null; failure_reason: string | null }>(
    `SELECT status::text, delivered_at, failure_reason FROM messages WHERE id = $1`,
    [id],
  );
  return rows[0]!;
}

const parkedCount = async (): Promise<number> =>
  Number((await env.container().pg.query<{ n: string }>(`SELECT count(*) AS n FROM early_delivery_reports`)).rows[0]!.n);

describe('delivery reports that arrive before the send outcome', () => {
  let api: RunningApi;
  let callbackResults: Array<{ parked: boolean; updated: number }>;
  beforeAll(async () => {
    callbackResults = [];
    const services = {
      ...stubServices(),
      applyDeliveryCallback: async (d: Parameters<typeof applyDeliveryCallback>[0], f: Record<string, string>) => {
        const r = await applyDeliveryCallback(d, f);
        callbackResults.push(r);
        return r;
      },
    };
    api = await startApi(env.container(), services);
  });
  afterAll(() => api.close());
  beforeEach(async () => {
    callbackResults.length = 0;
    await env.container().pg.query(`DELETE FROM early_delivery_reports`);
  });

  const post = (fields: Record<string, string>) =>
    http('POST', `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, {
      token: null,
      body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

  it('keeps a report posted before the outcome, applies it when the worker commits the outcome, exactly once', async () => {
    const ids = await seedInFlight('early', ['+919876510001']);
    const id = ids.get('+919876510001')!;

    const first = await post(form('E1', '919876510001'));
    expect(first.status).toBe(200);
    expect(first.json<{ result: { parked: boolean; updated: number } }>().result).toMatchObject({ parked: true, updated: 0 });
    expect(await post(form('E1', '919876510001'))).toMatchObject({ status: 200 }); // the platform repeats itself
    expect(await parkedCount()).toBe(1);
    expect((await message(id)).status).toBe('sending');

    // The send outcome lands through the worker's group-commit writer.
    const writer = createOutcomeWriter(env.container());
    await writer.write({ id, attempts: 1, claimedAt: await claimTokenOf(env.container().pg, id), status: 'sent', sessionId: 'E1', outcomeClass: 'accepted' });
    await writer.flush();
    const delivered = await message(id);
    expect(delivered.status).toBe('delivered');
    expect(delivered.delivered_at).toBeInstanceOf(Date);
    expect(await parkedCount()).toBe(0);

    // A late repeat changes nothing and is not parked again: the session is known now.
    const again = await post(form('E1', '919876510001'));
    expect(again.json<{ result: Record<string, unknown> }>().result).toMatchObject({ parked: false, updated: 0, unmatched: true });
    expect(await message(id)).toEqual(delivered);
    expect(await parkedCount()).toBe(0);
    expect(callbackResults.map((r) => r.updated)).toEqual([0, 0, 0]);
  });

  it('the first final report wins when a contradicting one is posted between the outcome commit and its hook', async () => {
    const ids = await seedInFlight('order', ['+919876510041']);
    const id = ids.get('+919876510041')!;
    const c = env.container();
    // UNDELIVERED comes first, before the send outcome: parked.
    expect((await post(form('O1', '919876510041', 'UNDELIVERED'))).json<{ result: { parked: boolean } }>().result.parked).toBe(true);
    // The outcome commits; the writer's hook has not run yet (writeOutcomes alone) when a DELIVERED is posted.
    await writeOutcomes(c.pg, [{ id, attempts: 1, claimedAt: await claimTokenOf(c.pg, id), status: 'sent', sessionId: 'O1' }]);
    expect((await post(form('O1', '919876510041', 'DELIVERED'))).status).toBe(200);
    await applyParkedReports(c, ['O1']); // the hook, late
    // As when both come after the outcome: the first final report decides, a later contradiction changes nothing.
    expect(await message(id)).toMatchObject({ status: 'failed', failure_reason: 'UNDELIVERED #1: ABSENT_SUBSCRIBER' });
    expect(await parkedCount()).toBe(0);
  });

  it('applies a report once when the webhook and the outcome writer race for it', async () => {
    const ids = await seedInFlight('race', ['+919876510011']);
    const id = ids.get('+919876510011')!;
    const c = env.container();
    await c.pg.query(`INSERT INTO early_delivery_reports (session_id, phone, state, reason) VALUES ('R1', '919876510011', 'failed', 'UNDELIVERED #1')`);
    await writeOutcomes(c.pg, [{ id, attempts: 1, claimedAt: await claimTokenOf(c.pg, id), status: 'sent', sessionId: 'R1' }]);
    const results = await Promise.all([applyParkedReports(c, ['R1']), applyParkedReports(c, ['R1']), applyParkedReports(c, ['R1'])]);
    expect(results.reduce((n, r) => n + r.failed, 0)).toBe(1);
    expect(await message(id)).toMatchObject({ status: 'failed', failure_reason: 'UNDELIVERED #1' });
    expect(await parkedCount()).toBe(0);
  });

  it('the poller sweep applies reports whose outcome was committed without the hook, and drops expired ones', async () => {
    const ids = await seedInFlight('sweep', ['+919876510021', '+919876510022']);
    const c = env.container();
    // A packed send: one session, two recipients; each report pairs with its own number.
    expect((await post(form('P1', '919876510022', 'UNDELIVERED'))).json<{ result: { parked: boolean } }>().result.parked).toBe(true);
    expect((await post(form('P1', '919876510021'))).json<{ result: { parked: boolean } }>().result.parked).toBe(true);
    await post(form('NEVER', '919876510099')); // a session we never learn
    const claims = await Promise.all([...ids.values()].map(async (id) => ({ id, claimedAt: await claimTokenOf(c.pg, id) })));
    await writeOutcomes(c.pg, claims.map(({ id, claimedAt }) => ({ id, attempts: 1, claimedAt, status: 'sent' as const, sessionId: 'P1' })));

    expect(await sweepEarlyReports(c, new Date())).toEqual({ applied: 2, expired: 0 });
    expect(await statusCounts(c.pg, (await c.pg.query<{ campaign_id: string }>(`SELECT campaign_id FROM messages WHERE id = $1`, [ids.get('+919876510021')])).rows[0]!.campaign_id)).toEqual({ delivered: 1, failed: 1 });
    expect((await message(ids.get('+919876510022')!)).failure_reason).toMatch(/^UNDELIVERED #1/);
    expect(await parkedCount()).toBe(1);
    expect(await sweepEarlyReports(c, new Date(Date.now() + 7 * 3_600_000))).toEqual({ applied: 0, expired: 1 });
    expect(await parkedCount()).toBe(0);
  });

  it('drops a parked report whose session is recorded but none of its recipients has that number; it never holds up the others', async () => {
    const c = env.container();
    const s = await seedSentMessages(c.pg, 'strays', [
      { phone: '+919876510031', sessionId: 'PK' },
      { phone: '+919876510032', sessionId: 'PK' },
      { phone: '+919876510033', sessionId: 'OK' },
    ]);
    // More strays than one sweep reads (a packed session's reports for numbers it does not hold), parked first...
    await c.pg.query(
      `INSERT INTO early_delivery_reports (session_id, phone, state, reason)
       SELECT 'PK', '91870000' || lpad(i::text, 4, '0'), 'failed', 'UNDELIVERED #1' FROM generate_series(1, 1000) AS i`,
    );
    // ...then a report the sweep can apply (its worker died between the outcome's commit and the hook).
    await c.pg.query(`INSERT INTO early_delivery_reports (session_id, phone, state) VALUES ('OK', '919876510033', 'delivered')`);
    // A sweep reads 1000 parked reports: the strays fill the first one, so the report behind them waits for the next.
    let applied = 0;
    for (let sweep = 0; sweep < 3; sweep++) applied += (await sweepEarlyReports(c, new Date())).applied;
    expect(applied).toBe(1);
    expect((await message(s.ids.get('+919876510033')!)).status).toBe('delivered');
    expect((await message(s.ids.get('+919876510031')!)).status).toBe('sent');
    expect((await message(s.ids.get('+919876510032')!)).status).toBe('sent');
    expect(await parkedCount()).toBe(0);
  });

  it('end to end: the simulator pushes every report before answering the send; none is lost', async () => {
    const c = env.container();
    const sim = await startTestSimulator({
      apiKey: env.config.TWOFACTOR_API_KEY!,
      rate: 300,
      latencyMs: [100, 200],
      dlrDelayMs: 0,
      callbackUrl: `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`,
    });
    const worker = await startWorker(c, { provider: sim.provider() });
    try {
      const { campaignId } = await seedCampaign(c.pg, { recipients: 150 });
      await startCampaign(c, campaignId);
      await waitFor('all delivered', async () => (await statusCounts(c.pg, campaignId)).delivered === 150, 40_000).catch(() => undefined);
      await worker.close(); // drains: outcomes written, their hooks run
      expect(await statusCounts(c.pg, campaignId)).toEqual({ delivered: 150 });
      expect(sim.sim.stats().callbacks).toEqual({ sent: 150, failed: 0 });
      // Reports came before the outcome was committed (how many depends on the machine's load): kept, not dropped.
      expect(callbackResults.filter((r) => r.parked).length).toBeGreaterThan(0);
      // Each applier deletes the reports it resolved right after updating the messages.
      await waitFor('parked reports cleared', async () => (await parkedCount()) === 0, 5_000);
    } finally {
      await worker.close();
      await sim.close();
    }
  }, 60_000);
});
