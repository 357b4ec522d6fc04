/** Pause/resume/cancel, account-fatal pauses, throttling storms and retries against a real HTTP provider stand-in. */
import { useTestEnv } from '../../helpers/env';
import { startStandIn, type StandIn } from '../../helpers/stand-in-provider';
import { createHttpTestProvider } from '../../helpers/http-provider';
import { campaignStatus, deliveryCheck, seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import {
  cancelCampaign,
  getCampaignStatus,
  pauseCampaign,
  resumeCampaign,
  retryCampaign,
  startCampaign,
} from '../../../src/sending/campaign-control';
import { startWorker, type RunningWorker } from '../../../src/sending/worker';
import type { SmsProvider } from '../../../src/provider/sms-provider';

const env = useTestEnv({ SMS_RATE_LIMIT: '400', SMS_REQUEST_TIMEOUT_MS: '2000', SMS_MAX_ATTEMPTS: '2' });

describe('campaign lifecycle while sending', () => {
  let standIn: StandIn;
  let provider: SmsProvider;
  let worker: RunningWorker;

  beforeAll(async () => {
    standIn = await startStandIn({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 400, latencyMs: [5, 40] });
    provider = createHttpTestProvider({ baseUrl: standIn.url, apiKey: env.config.TWOFACTOR_API_KEY!, timeoutMs: 10_000, connections: 100 });
    worker = await startWorker(env.container(), { provider, concurrency: 100 });
  });
  afterAll(async () => {
    await worker.close();
    await provider.close();
    await standIn.close();
  });
  beforeEach(() => standIn.configure({ script: undefined, rate: 400 }));

  const acceptedOf = (phones: readonly string[]) => phones.filter((p) => standIn.accepted().has(p)).length;
  const completed = (id: string) => waitFor(`campaign ${id} completed`, async () => (await campaignStatus(env.container().pg, id)) === 'completed', 45_000);

  it('pause stops sending fleet-wide within 1 s; resume continues with no duplicate and no skip', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 1200 });
    await startCampaign(c, campaignId);
    await waitFor('some accepted', async () => acceptedOf(phones) >= 150);
    expect(await pauseCampaign(c, campaignId, 'operator pause')).toEqual({ campaignId, status: 'paused' });
    await new Promise((r) => setTimeout(r, 1000));
    const atOneSecond = acceptedOf(phones);
    await new Promise((r) => setTimeout(r, 1000));
    expect(acceptedOf(phones)).toBe(atOneSecond);
    const paused = await statusCounts(c.pg, campaignId);
    expect(paused.queued ?? 0).toBe(0);
    expect(paused.sending ?? 0).toBe(0);
    expect(paused.pending).toBeGreaterThan(0);
    expect(paused.sent).toBe(atOneSecond);
    expect((await getCampaignStatus(c, campaignId)).pauseReason).toBe('operator pause');

    expect(await resumeCampaign(c, campaignId)).toEqual({ campaignId, status: 'running' });
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 1200 });
    expect(deliveryCheck(standIn.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
  });

  it('cancel marks everything not yet sent as cancelled; what was sent stays recorded', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 1200 });
    await startCampaign(c, campaignId);
    await waitFor('some accepted', async () => acceptedOf(phones) >= 150);
    expect(await cancelCampaign(c, campaignId)).toEqual({ campaignId, status: 'cancelled' });
    await waitFor('in-flight finished', async () => !(await statusCounts(c.pg, campaignId)).sending);
    await new Promise((r) => setTimeout(r, 500));
    const counts = await statusCounts(c.pg, campaignId);
    expect(Object.keys(counts).sort()).toEqual(['cancelled', 'sent']);
    expect(counts.sent).toBe(acceptedOf(phones));
    expect(counts.sent! + counts.cancelled!).toBe(1200);
    expect(deliveryCheck(standIn.accepted(), phones).duplicates).toEqual([]);
    const status = await getCampaignStatus(c, campaignId);
    expect(status.status).toBe('cancelled');
    expect(status.counts.cancelled).toBe(counts.cancelled);
  });

  it('an account-fatal answer pauses the campaign with the reason; after resume every recipient gets exactly one SMS', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 600 });
    let fatal = false;
    standIn.configure({ script: () => (fatal ? 'fatal' : 'ok') });
    await startCampaign(c, campaignId);
    await waitFor('some accepted', async () => acceptedOf(phones) >= 100);
    fatal = true;
    await waitFor('paused', async () => (await campaignStatus(c.pg, campaignId)) === 'paused');
    await waitFor('in-flight finished', async () => !(await statusCounts(c.pg, campaignId)).sending);
    const status = await getCampaignStatus(c, campaignId);
    expect(status.pauseReason).toMatch(/Invalid API Key/);
    const counts = await statusCounts(c.pg, campaignId);
    // Refused messages were certainly not sent: they wait, neither failed nor unknown.
    expect(counts.failed ?? 0).toBe(0);
    expect(counts.unknown ?? 0).toBe(0);
    expect(counts.sent).toBe(acceptedOf(phones));
    const refused = await c.pg.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM messages WHERE campaign_id = $1 AND status = 'pending' AND outcome_class = 'account_fatal'`,
      [campaignId],
    );
    expect(refused.rows[0]!.n).toBeGreaterThan(0);

    fatal = false;
    await resumeCampaign(c, campaignId);
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 600 });
    expect(deliveryCheck(standIn.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
  });

  it('a 429 storm slows the fleet and retries without counting attempts', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 400 });
    standIn.configure({ rate: 60 });
    await startCampaign(c, campaignId);
    await completed(campaignId);
    expect(standIn.stats().throttled).toBeGreaterThan(0);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 400 });
    const attempts = await c.pg.query<{ max: number }>(`SELECT max(attempts)::int AS max FROM messages WHERE campaign_id = $1`, [campaignId]);
    expect(attempts.rows[0]!.max).toBe(1);
    expect(deliveryCheck(standIn.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
  });

  it('retry re-queues retryable failures (and unknown only when asked), idempotently, keeping attempts', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 100 });
    const busy = new Set(phones.slice(0, 5));
    const lost = new Set(phones.slice(5, 8));
    let broken = true;
    standIn.configure({
      script: (_n, to) => (!broken ? 'ok' : to.some((p) => busy.has(p)) ? 'busy' : to.some((p) => lost.has(p)) ? 'error502' : 'ok'),
    });
    await startCampaign(c, campaignId);
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 92, failed: 5, unknown: 3 });
    const failed = await c.pg.query<{ attempts: number; outcome_class: string; provider_text: string }>(
      `SELECT attempts, outcome_class::text, provider_text FROM messages WHERE campaign_id = $1 AND status = 'failed'`,
      [campaignId],
    );
    expect(failed.rows.every((r) => r.attempts === 2 && r.outcome_class === 'retryable' && /busy/.test(r.provider_text))).toBe(true);

    broken = false;
    expect(await retryCampaign(c, campaignId, { includeUnknown: false })).toEqual({ campaignId, requeued: 5 });
    expect(await retryCampaign(c, campaignId, { includeUnknown: false })).toEqual({ campaignId, requeued: 0 });
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 97, unknown: 3 });
    expect(await retryCampaign(c, campaignId, { includeUnknown: false })).toEqual({ campaignId, requeued: 0 });
    expect(await retryCampaign(c, campaignId, { includeUnknown: true })).toEqual({ campaignId, requeued: 3 });
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 100 });
    const attempts = await c.pg.query<{ phone: string; attempts: number }>(`SELECT phone, attempts FROM messages WHERE campaign_id = $1`, [campaignId]);
    const byPhone = new Map(attempts.rows.map((r) => [r.phone, r.attempts]));
    expect(byPhone.get(phones[0]!)).toBe(3);
    expect(byPhone.get(phones[5]!)).toBe(2);
    expect(byPhone.get(phones[50]!)).toBe(1);
  });
});
