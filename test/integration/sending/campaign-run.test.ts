/** A campaign run end to end against the 2Factor simulator: exact counts, packing, templates, idempotent start. */
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { campaignStatus, deliveryCheck, seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import { getCampaignStatus, startCampaign } from '../../../src/sending/campaign-control';
import { startWorker, type RunningWorker } from '../../../src/sending/worker';

const env = useTestEnv({ SMS_RATE_LIMIT: '1000', SMS_REQUEST_TIMEOUT_MS: '10000' });

/** Makes contact i's number one the provider refuses (not an Indian mobile number). */
async function breakNumber(pg: import('pg').Pool, phone: string): Promise<string> {
  const bad = phone.replace('+9198', '+9150');
  await pg.query(`UPDATE contacts SET phone = $2 WHERE phone = $1`, [phone, bad]);
  return bad;
}

describe('a campaign run end to end', () => {
  let t: TestSimulator;
  let worker: RunningWorker;

  beforeAll(async () => {
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 1000, latencyMs: [5, 30] });
    worker = await startWorker(env.container(), { provider: t.provider({ connections: 200 }), concurrency: 200, campaignServices: false });
  });
  afterAll(async () => {
    await worker.close();
    await t.close();
  });

  it('records exact status counts: sent, failed (bad number, missing variable), suppressed at start and at send time', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, {
      recipients: 600,
      // Every 50th contact has no name: its message fails before sending.
      variables: (i): Record<string, string> => (i % 50 === 7 ? { city: 'x' } : { name: `N${i}` }),
    });
    const bad = [await breakNumber(c.pg, phones[3]!), await breakNumber(c.pg, phones[4]!)];
    await c.pg.query(`INSERT INTO suppressions (phone) VALUES ($1), ($2)`, [phones[10], phones[11]]);

    const started = await startCampaign(c, campaignId);
    expect(started.status).toBe('running');
    // Opted out after the start: must not be sent either.
    await c.pg.query(`INSERT INTO suppressions (phone) VALUES ($1)`, [phones[599]]);

    await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed');

    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 583, failed: 12 + 2, suppressed: 3 });
    const accepted = await t.accepted();
    const sentPhones = phones.filter((_p, i) => i !== 3 && i !== 4 && i !== 10 && i !== 11 && i !== 599 && i % 50 !== 7);
    expect(deliveryCheck(accepted, sentPhones)).toEqual({ duplicates: [], missing: [] });
    expect(t.sim.stats().acceptedRecipients).toBe(583);
    for (const p of [phones[10]!, phones[599]!, phones[7]!, ...bad]) expect(accepted.has(p)).toBe(false);

    const failed = await c.pg.query<{ phone: string; failure_reason: string; outcome_class: string | null; provider_text: string | null }>(
      `SELECT phone, failure_reason, outcome_class::text, provider_text FROM messages WHERE campaign_id = $1 AND status = 'failed' ORDER BY id`,
      [campaignId],
    );
    expect(failed.rows.find((r) => r.phone === phones[7])?.failure_reason).toBe('missing variable: name');
    const refused = failed.rows.find((r) => r.phone === bad[0])!;
    expect(refused.outcome_class).toBe('permanent_recipient');
    expect(refused.provider_text).toMatch(/Invalid Phone Number/);

    const text = await c.pg.query<{ text: string; session_id: string }>(`SELECT text, session_id FROM messages WHERE phone = $1 AND campaign_id = $2`, [phones[20], campaignId]);
    expect(text.rows[0]!.text).toBe('Hello N20');
    expect(text.rows[0]!.session_id).toMatch(/^[0-9a-f]{32}$/);

    const status = await getCampaignStatus(c, campaignId);
    expect(status.status).toBe('completed');
    expect(status.total).toBe(600);
    expect(status.counts).toEqual({ pending: 0, queued: 0, sending: 0, sent: 583, delivered: 0, failed: 14, unknown: 0, suppressed: 3, cancelled: 0 });
    // The run's counter columns equal the sums over its messages.
    const run = await c.pg.query(`SELECT total, sent, failed, suppressed, pending, queued, sending FROM campaign_runs WHERE campaign_id = $1`, [campaignId]);
    expect(run.rows[0]).toEqual({ total: 600, sent: 583, failed: 14, suppressed: 3, pending: 0, queued: 0, sending: 0 });
    expect(t.sim.stats().maxWindow).toBeLessThanOrEqual(1000);
  });

  it('starting twice returns the same run (idempotent)', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 5 });
    const a = await startCampaign(c, campaignId);
    const b = await startCampaign(c, campaignId);
    expect(b.runId).toBe(a.runId);
    const n = await c.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE campaign_id = $1`, [campaignId]);
    expect(n.rows[0]!.n).toBe(5);
    await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed');
  });

  it('packs identical texts into one request; a refused pack is re-sent one by one', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 30, text: 'Sale today', packSize: 3 });
    const bad = await breakNumber(c.pg, phones[10]!);
    const before = t.sim.stats().requests;
    await startCampaign(c, campaignId);
    await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed');
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 29, failed: 1 });
    const requests = t.sim.stats().requests - before;
    // 10 packs of 3, plus the refused pack's 3 recipients individually.
    expect(requests).toBeLessThanOrEqual(13);
    expect(requests).toBeGreaterThanOrEqual(10);
    const sessions = await c.pg.query<{ session_id: string; n: number }>(
      `SELECT session_id, count(*)::int AS n FROM messages WHERE campaign_id = $1 AND status = 'sent' GROUP BY session_id`,
      [campaignId],
    );
    expect(sessions.rows.filter((r) => r.n === 3).length).toBeGreaterThanOrEqual(7);
    expect(deliveryCheck(await t.accepted(), phones.filter((p) => p !== phones[10]))).toEqual({ duplicates: [], missing: [] });
    expect((await t.accepted()).has(bad)).toBe(false);
  });

  it('a number refused with a DND text fails alone: its pack is re-sent one by one and the campaign completes', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 12, text: 'Sale tomorrow', packSize: 4 });
    const dnd = phones[5]!;
    t.sim.configure({ refusals: { [dnd.slice(1)]: 'Number is in DND' } });
    try {
      await startCampaign(c, campaignId);
      await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed');
    } finally {
      t.sim.configure({ refusals: {} });
    }
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 11, failed: 1 });
    const failed = await c.pg.query<{ phone: string; outcome_class: string; provider_text: string }>(
      `SELECT phone, outcome_class::text, provider_text FROM messages WHERE campaign_id = $1 AND status = 'failed'`,
      [campaignId],
    );
    expect(failed.rows).toEqual([{ phone: dnd, outcome_class: 'permanent_recipient', provider_text: 'Number is in DND' }]);
    expect(deliveryCheck(await t.accepted(), phones.filter((p) => p !== dnd))).toEqual({ duplicates: [], missing: [] });
  });

  it('template campaigns send the template name with ordered variables', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, {
      recipients: 4,
      templateName: 'ORDER_SHIPPED',
      templateVars: ['name', 'order'],
      variables: (i): Record<string, string> => (i === 2 ? { name: 'X' } : { name: `N${i}`, order: `O${i}` }),
    });
    await startCampaign(c, campaignId);
    await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed');
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 3, failed: 1 });
    const rows = await c.pg.query<{ vars: string[] | null; failure_reason: string | null }>(
      `SELECT vars, failure_reason FROM messages WHERE campaign_id = $1 ORDER BY id`,
      [campaignId],
    );
    expect(rows.rows[0]!.vars).toEqual(['N0', 'O0']);
    expect(rows.rows[2]).toEqual({ vars: null, failure_reason: 'missing variable: order' });
  });
});
