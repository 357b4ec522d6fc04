/** Pause/resume/cancel, account-fatal pauses, throttling storms and retries against the 2Factor simulator. */
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
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

const env = useTestEnv({ SMS_RATE_LIMIT: '400', SMS_REQUEST_TIMEOUT_MS: '10000', SMS_MAX_ATTEMPTS: '2' });

describe('campaign lifecycle while sending', () => {
  let t: TestSimulator;
  let worker: RunningWorker;
  let simulator: SmsProvider;
  let unreachable: SmsProvider;
  // Routes sends to one of two real clients (the simulator, or a port nobody listens on).
  let target: () => SmsProvider;

  beforeAll(async () => {
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 400, latencyMs: [5, 40] });
    simulator = t.provider();
    unreachable = t.provider({ baseUrl: 'http://127.0.0.1:9' });
    target = () => simulator;
    const routed: SmsProvider = {
      send: (req, signal) => target().send(req, signal),
      balance: (kind, signal) => target().balance(kind, signal),
      deliveryReport: (id, signal) => target().deliveryReport(id, signal),
      close: () => Promise.resolve(),
    };
    worker = await startWorker(env.container(), { provider: routed, concurrency: 100, campaignServices: false });
  });
  afterAll(async () => {
    await worker.close();
    await t.close();
  });
  beforeEach(() => {
    t.sim.configure({ rate: 400, failRate: 0, invalidKeyFromRequest: null });
    target = () => simulator;
  });

  const sent = async (id: string) => (await statusCounts(env.container().pg, id)).sent ?? 0;
  const ended = (id: string, as: 'completed' | 'failed') => waitFor(`campaign ${id} ${as}`, async () => (await campaignStatus(env.container().pg, id)) === as, 45_000);
  const completed = (id: string) => ended(id, 'completed');

  it('pause stops sending fleet-wide within 1 s; resume continues with no duplicate and no skip', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 1200 });
    await startCampaign(c, campaignId);
    await waitFor('some sent', async () => (await sent(campaignId)) >= 150, 30_000, 20);
    expect(await pauseCampaign(c, campaignId, 'operator pause')).toEqual({ campaignId, status: 'paused' });
    await new Promise((r) => setTimeout(r, 1000));
    const atOneSecond = t.sim.stats().acceptedRecipients;
    await new Promise((r) => setTimeout(r, 1000));
    expect(t.sim.stats().acceptedRecipients).toBe(atOneSecond);
    const paused = await statusCounts(c.pg, campaignId);
    expect(paused.queued ?? 0).toBe(0);
    expect(paused.sending ?? 0).toBe(0);
    expect(paused.pending).toBeGreaterThan(0);
    expect(paused.sent).toBe(1200 - paused.pending!);
    expect((await getCampaignStatus(c, campaignId)).pauseReason).toBe('operator pause');

    expect(await resumeCampaign(c, campaignId)).toEqual({ campaignId, status: 'running' });
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 1200 });
    expect(deliveryCheck(await t.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
  });

  it('cancel marks everything not yet sent as cancelled; what was sent stays recorded', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 1200 });
    await startCampaign(c, campaignId);
    await waitFor('some sent', async () => (await sent(campaignId)) >= 150, 30_000, 20);
    expect(await cancelCampaign(c, campaignId)).toEqual({ campaignId, status: 'cancelled' });
    await waitFor('in-flight finished', async () => !(await statusCounts(c.pg, campaignId)).sending);
    await new Promise((r) => setTimeout(r, 500));
    const counts = await statusCounts(c.pg, campaignId);
    expect(Object.keys(counts).sort()).toEqual(['cancelled', 'sent']);
    expect(counts.sent! + counts.cancelled!).toBe(1200);
    const accepted = await t.accepted();
    expect(phones.filter((p) => accepted.has(p)).length).toBe(counts.sent);
    expect(deliveryCheck(accepted, phones).duplicates).toEqual([]);
    const status = await getCampaignStatus(c, campaignId);
    expect(status.status).toBe('cancelled');
    expect(status.counts.cancelled).toBe(counts.cancelled);
  });

  it('an account-fatal answer pauses the campaign with the reason; after resume every recipient gets exactly one SMS', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 600 });
    await startCampaign(c, campaignId);
    await waitFor('some sent', async () => (await sent(campaignId)) >= 100, 30_000, 20);
    t.sim.configure({ invalidKeyFromRequest: t.sim.stats().apiRequests + 1 });
    await waitFor('paused', async () => (await campaignStatus(c.pg, campaignId)) === 'paused');
    await waitFor('in-flight finished', async () => !(await statusCounts(c.pg, campaignId)).sending);
    const status = await getCampaignStatus(c, campaignId);
    expect(status.pauseReason).toMatch(/Invalid API Key/);
    const counts = await statusCounts(c.pg, campaignId);
    // Refused messages were certainly not sent: they wait, neither failed nor unknown.
    expect(counts.failed ?? 0).toBe(0);
    expect(counts.unknown ?? 0).toBe(0);
    const refused = await c.pg.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM messages WHERE campaign_id = $1 AND status = 'pending' AND outcome_class = 'account_fatal'`,
      [campaignId],
    );
    expect(refused.rows[0]!.n).toBeGreaterThan(0);

    t.sim.configure({ invalidKeyFromRequest: null });
    await resumeCampaign(c, campaignId);
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 600 });
    expect(deliveryCheck(await t.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
  });

  it('a 429 storm slows the fleet and retries without counting attempts', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 400 });
    const throttledBefore = t.sim.stats().throttled;
    t.sim.configure({ rate: 60 });
    await startCampaign(c, campaignId);
    await completed(campaignId);
    expect(t.sim.stats().throttled).toBeGreaterThan(throttledBefore);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 400 });
    const attempts = await c.pg.query<{ max: number }>(`SELECT max(attempts)::int AS max FROM messages WHERE campaign_id = $1`, [campaignId]);
    expect(attempts.rows[0]!.max).toBe(1);
    expect(deliveryCheck(await t.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
  });

  it('retry re-queues retryable failures idempotently, keeping attempts', async () => {
    const c = env.container();
    // 10 recipients × 2 attempts: fewer refused connections in a row than pause a campaign (25).
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 10 });
    target = () => unreachable; // connection refused: certainly not sent → retryable
    await startCampaign(c, campaignId);
    // Nothing went out: the campaign ends failed, not completed.
    await ended(campaignId, 'failed');
    expect(await statusCounts(c.pg, campaignId)).toEqual({ failed: 10 });
    const failed = await c.pg.query<{ attempts: number; outcome_class: string; provider_text: string }>(
      `SELECT attempts, outcome_class::text, provider_text FROM messages WHERE campaign_id = $1`,
      [campaignId],
    );
    expect(failed.rows.every((r) => r.attempts === 2 && r.outcome_class === 'retryable' && r.provider_text.length > 0)).toBe(true);

    target = () => simulator;
    expect(await retryCampaign(c, campaignId, { includeUnknown: false })).toEqual({ campaignId, requeued: 10, status: 'running', archiving: 0, notRetried: { failed: 0, unknown: 0 } });
    expect(await retryCampaign(c, campaignId, { includeUnknown: false })).toEqual({ campaignId, requeued: 0, status: 'running', archiving: 0, notRetried: { failed: 0, unknown: 0 } });
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 10 });
    expect(await retryCampaign(c, campaignId, { includeUnknown: true })).toEqual({ campaignId, requeued: 0, status: 'completed', archiving: 0, notRetried: { failed: 0, unknown: 0 } });
    const attempts = await c.pg.query<{ max: number; min: number }>(`SELECT max(attempts)::int AS max, min(attempts)::int AS min FROM messages WHERE campaign_id = $1`, [campaignId]);
    expect(attempts.rows[0]).toEqual({ max: 3, min: 3 });
    expect(deliveryCheck(await t.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
  });

  it('an outage pauses the campaign after 25 answers in a row of unknown fate, instead of burning its list into unknown', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 300 });
    t.sim.configure({ failRate: 1 }); // every send answered by a gateway's HTML 502
    await startCampaign(c, campaignId);
    await waitFor('paused and settled', async () => {
      const counts = await statusCounts(c.pg, campaignId);
      return (await campaignStatus(c.pg, campaignId)) === 'paused' && !counts.sending && !counts.queued;
    });
    const atPause = await statusCounts(c.pg, campaignId);
    expect(atPause.unknown).toBeGreaterThanOrEqual(25);
    // Only what was in flight when the 25th answer came went on; the rest is still pending, not unknown.
    expect(atPause.pending).toBeGreaterThanOrEqual(150);
    expect(atPause.unknown! + atPause.pending!).toBe(300);
    const reason = await c.pg.query<{ pause_reason: string }>(`SELECT pause_reason FROM campaigns WHERE id = $1`, [campaignId]);
    expect(reason.rows[0]!.pause_reason).toMatch(/^25 provider answers in a row of unknown fate \(last: .*HTTP 502.*\); check 2Factor, then resume$/);

    t.sim.configure({ failRate: 0 });
    await resumeCampaign(c, campaignId);
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ unknown: atPause.unknown, sent: atPause.pending });
    const unknownPhones = await c.pg.query<{ phone: string }>(`SELECT phone FROM messages WHERE campaign_id = $1 AND status = 'unknown'`, [campaignId]);
    const skipped = new Set(unknownPhones.rows.map((r) => r.phone));
    expect(deliveryCheck(await t.accepted(), phones.filter((p) => !skipped.has(p)))).toEqual({ duplicates: [], missing: [] });
  });

  it('a provider nobody answers pauses the campaign after 25 refused connections in a row, with attempts to spare', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 300 });
    target = () => unreachable;
    await startCampaign(c, campaignId);
    await waitFor('paused and settled', async () => {
      const counts = await statusCounts(c.pg, campaignId);
      return (await campaignStatus(c.pg, campaignId)) === 'paused' && !counts.sending && !counts.queued;
    });
    // Nothing failed: the list waits, not one message spent its last attempt.
    expect(await statusCounts(c.pg, campaignId)).toEqual({ pending: 300 });
    const reason = await c.pg.query<{ pause_reason: string }>(`SELECT pause_reason FROM campaigns WHERE id = $1`, [campaignId]);
    expect(reason.rows[0]!.pause_reason).toMatch(
      /^25 requests in a row could not reach 2Factor, none was sent \(last: not sent: .*ECONNREFUSED.*\); check the network and TWOFACTOR_BASE_URL, then resume$/,
    );

    target = () => simulator;
    await resumeCampaign(c, campaignId);
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 300 });
    expect(deliveryCheck(await t.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
  });

  it('ambiguous outcomes become unknown and are re-sent only with --include-unknown', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 10 });
    t.sim.configure({ failRate: 1 }); // HTML 502: may have gone out
    await startCampaign(c, campaignId);
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ unknown: 10 });
    t.sim.configure({ failRate: 0 });
    expect(await retryCampaign(c, campaignId, { includeUnknown: false })).toEqual({ campaignId, requeued: 0, status: 'completed', archiving: 0, notRetried: { failed: 0, unknown: 10 } });
    expect(await retryCampaign(c, campaignId, { includeUnknown: true })).toEqual({ campaignId, requeued: 10, status: 'running', archiving: 0, notRetried: { failed: 0, unknown: 0 } });
    await completed(campaignId);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 10 });
    expect(deliveryCheck(await t.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
  });
});
