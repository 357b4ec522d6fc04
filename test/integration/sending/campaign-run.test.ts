import { useTestEnv } from '../../helpers/env';
import { startStandIn, type StandIn } from '../../helpers/stand-in-provider';
import { createHttpTestProvider } from '../../helpers/http-provider';
import { campaignStatus, deliveryCheck, seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import { getCampaignStatus, startCampaign } from '../../../src/sending/campaign-control';
import { startWorker, type RunningWorker } from '../../../src/sending/worker';
import type { SmsProvider } from '../../../src/provider/sms-provider';

const env = useTestEnv({ SMS_RATE_LIMIT: '1000', SMS_REQUEST_TIMEOUT_MS: '2000' });

describe('a campaign run end to end', () => {
  let standIn: StandIn;
  let provider: SmsProvider;
  let worker: RunningWorker | undefined;

  beforeAll(async () => {
    standIn = await startStandIn({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 1000, latencyMs: [5, 30] });
    provider = createHttpTestProvider({ baseUrl: standIn.url, apiKey: env.config.TWOFACTOR_API_KEY!, timeoutMs: 10_000, connections: 200 });
  });
  afterAll(async () => {
    await worker?.close();
    await provider.close();
    await standIn.close();
  });

  it('records exact status counts: sent, failed (bad number, missing variable), suppressed at start and at send time', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, {
      recipients: 600,
      // Every 50th contact has no name: its message fails before sending.
      variables: (i): Record<string, string> => (i % 50 === 7 ? { city: 'x' } : { name: `N${i}` }),
    });
    const badNumber = new Set([phones[3]!, phones[4]!]);
    standIn.configure({ script: (_n, to) => (to.some((p) => badNumber.has(p)) ? 'bad-number' : 'ok') });
    await c.pg.query(`INSERT INTO suppressions (phone) VALUES ($1), ($2)`, [phones[10], phones[11]]);

    const started = await startCampaign(c, campaignId);
    expect(started.status).toBe('running');
    // Opted out after the start: must not be sent either.
    await c.pg.query(`INSERT INTO suppressions (phone) VALUES ($1)`, [phones[599]]);

    worker = await startWorker(c, { provider, concurrency: 200 });
    await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed');


    const counts = await statusCounts(c.pg, campaignId);
    const odd = await c.pg.query(`SELECT status, failure_reason, provider_text FROM messages WHERE campaign_id = $1 AND status = 'unknown'`, [campaignId]); if (odd.rows.length) console.log(odd.rows);
    expect(counts).toEqual({ sent: 600 - 12 - 2 - 2 - 1, failed: 12 + 2, suppressed: 3 });
    expect(standIn.stats().duplicates).toBe(0);
    expect(standIn.stats().acceptedRecipients).toBe(583);
    const accepted = standIn.accepted();
    expect(accepted.has(phones[10]!)).toBe(false);
    expect(accepted.has(phones[599]!)).toBe(false);
    expect(accepted.has(phones[7]!)).toBe(false);

    const failed = await c.pg.query<{ phone: string; failure_reason: string; outcome_class: string | null; provider_text: string | null }>(
      `SELECT phone, failure_reason, outcome_class::text, provider_text FROM messages WHERE campaign_id = $1 AND status = 'failed' ORDER BY id`,
      [campaignId],
    );
    expect(failed.rows.find((r) => r.phone === phones[7])?.failure_reason).toBe('missing variable: name');
    const bad = failed.rows.find((r) => r.phone === phones[3])!;
    expect(bad.outcome_class).toBe('permanent_recipient');
    expect(bad.provider_text).toBe('Invalid Phone Number');

    const text = await c.pg.query<{ text: string }>(`SELECT text FROM messages WHERE phone = $1 AND campaign_id = $2`, [phones[20], campaignId]);
    expect(text.rows[0]!.text).toBe('Hello N20');

    const status = await getCampaignStatus(c, campaignId);
    expect(status.status).toBe('completed');
    expect(status.total).toBe(600);
    expect(status.counts).toEqual({ pending: 0, queued: 0, sending: 0, sent: 583, delivered: 0, failed: 14, unknown: 0, suppressed: 3, cancelled: 0 });
    // The run's counter columns equal the sums over its messages.
    const run = await c.pg.query(`SELECT total, sent, failed, suppressed, pending, queued, sending FROM campaign_runs WHERE campaign_id = $1`, [campaignId]);
    expect(run.rows[0]).toEqual({ total: 600, sent: 583, failed: 14, suppressed: 3, pending: 0, queued: 0, sending: 0 });
    // Nothing is left in Redis for the finished campaign but bookkeeping keys.
    expect(standIn.stats().maxWindow).toBeLessThanOrEqual(1000);
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
    const bad = phones[10]!;
    standIn.configure({ script: (_n, to) => (to.includes(bad) ? 'bad-number' : 'ok') });
    const before = standIn.stats().requests;
    await startCampaign(c, campaignId);
    await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed');
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 29, failed: 1 });
    const requests = standIn.stats().requests - before;
    // 10 packs of 3, plus the refused pack's 3 recipients individually.
    expect(requests).toBeLessThanOrEqual(13);
    expect(requests).toBeGreaterThanOrEqual(10);
    const sessions = await c.pg.query<{ session_id: string; n: number }>(
      `SELECT session_id, count(*)::int AS n FROM messages WHERE campaign_id = $1 AND status = 'sent' GROUP BY session_id`,
      [campaignId],
    );
    expect(sessions.rows.filter((r) => r.n === 3).length).toBeGreaterThanOrEqual(7);
    expect(deliveryCheck(standIn.accepted(), phones.filter((p) => p !== bad))).toEqual({ duplicates: [], missing: [] });
  });

  it('template campaigns send the template name with ordered variables', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, {
      recipients: 4,
      templateName: 'ORDER_SHIPPED',
      templateVars: ['name', 'order'],
      variables: (i): Record<string, string> => (i === 2 ? { name: 'X' } : { name: `N${i}`, order: `O${i}` }),
    });
    standIn.configure({ script: undefined });
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
