/**
 * A claimed request is judged (campaign still running, claim younger than the send deadline) when its slot comes,
 * and then waits for admission into the account-wide window — a full window after a burst, the paused window after
 * Redis lost its log, a slow Redis. It must be judged again once admitted: judged only before, a cancel or pause
 * made during that wait still let it go, and so did a claim grown older than the deadline, which exists so that the
 * recovery lease never expires under a live request.
 */
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, statusCounts } from '../../helpers/sending-fixtures';
import { cancelCampaign, pauseCampaign, startCampaign, type ControlDeps } from '../../../src/sending/campaign-control';
import { createBatchSender } from '../../../src/sending/batch-sender';
import { createCampaignStates } from '../../../src/sending/campaign-states';
import { OutcomeWriter } from '../../../src/sending/ledger';
import type { Pacer } from '../../../src/sending/pacer';
import type { SmsProvider } from '../../../src/provider/sms-provider';

const env = useTestEnv();
const ADMISSION_WAIT_MS = 800;

it.each([
  ['cancelled', 5_000, (c: ControlDeps, id: string) => cancelCampaign(c, id), { cancelled: 2 }],
  ['paused', 5_000, (c: ControlDeps, id: string) => pauseCampaign(c, id, 'operator'), { pending: 2 }],
  ['left running, its claim past the send deadline', 300, async () => undefined, { pending: 2 }],
])('a request admitted after its campaign was %s is handed back unsent', async (_when, sendDeadlineMs, meanwhile, expected) => {
  const c = env.container();
  const { campaignId } = await seedCampaign(c.pg, { recipients: 2 });
  await startCampaign(c, campaignId);
  const { rows } = await c.pg.query<{ id: string; run_id: string }>(
    `UPDATE messages SET status = 'queued', queued_at = now() WHERE campaign_id = $1 RETURNING id::text, run_id::text`,
    [campaignId],
  );
  let sent = 0;
  const provider = {
    send: async () => {
      sent++;
      return { kind: 'accepted', sessionId: `S${sent}` };
    },
  } as unknown as SmsProvider;
  // Slots at once; each admission waits for the window, during which the status change is made.
  const pacer: Pacer = {
    intervalMs: 1,
    reserve: async (n) => {
      const now = performance.now();
      return { firstAt: now, earliestAt: now, intervalMs: 1, count: n };
    },
    admit: async () => {
      const askedAt = performance.now();
      await new Promise((r) => setTimeout(r, ADMISSION_WAIT_MS));
      return { waitedMs: ADMISSION_WAIT_MS, askedAt, member: String(askedAt) };
    },
    dispatched: () => false,
    penalise: async () => undefined,
  };
  const states = await createCampaignStates(c.pg, null, 'unused', 50);
  const writer = new OutcomeWriter(c.pg);
  try {
    const sender = createBatchSender(
      { pg: c.pg, provider, pacer, writer, states, logger: c.logger, pause: async () => undefined, closing: () => false },
      { chunkSize: 10, maxAttempts: 5, lateToleranceMs: 6, sendDeadlineMs, throttlePenaltyMs: 100 },
    );
    const job = sender.processBatch({ campaignId, runId: rows[0]!.run_id, ids: rows.map((r) => r.id) });
    await new Promise((r) => setTimeout(r, 100)); // claimed, slots reached, waiting for admission
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sending: 2 });
    await meanwhile(c, campaignId);
    await job;
    expect(sent).toBe(0);
    expect(await statusCounts(c.pg, campaignId)).toEqual(expected);
  } finally {
    await states.close();
  }
});
