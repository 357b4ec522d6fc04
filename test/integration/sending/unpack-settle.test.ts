/** An unpacked pack: one single send failing (Redis at its admission) does not end the job while the others are in flight. */
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, statusCounts } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';
import { createBatchSender } from '../../../src/sending/batch-sender';
import { createCampaignStates } from '../../../src/sending/campaign-states';
import { OutcomeWriter } from '../../../src/sending/ledger';
import { instantPacer } from '../../helpers/instant-pacer';
import type { SmsProvider } from '../../../src/provider/sms-provider';

const env = useTestEnv();

it('a Redis error at one unpacked single send ends the job only after its siblings are recorded', async () => {
  const c = env.container();
  const { campaignId } = await seedCampaign(c.pg, { recipients: 3, text: 'same text', packSize: 3 });
  await startCampaign(c, campaignId);
  const { rows } = await c.pg.query<{ id: string; run_id: string }>(
    `UPDATE messages SET status = 'queued', queued_at = now() WHERE campaign_id = $1 RETURNING id::text, run_id::text`,
    [campaignId],
  );
  const ids = rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
  // The pack's one admission, then the singles' three: the third fails as a dropped Redis connection does.
  let admits = 0;
  const pacer = instantPacer(async () => {
    if (++admits === 3) throw new Error('Redis: Connection is closed');
    return { waitedMs: 0, askedAt: performance.now(), member: String(admits) };
  });
  // The pack is refused for one number; each single is accepted after 1.5 s.
  const provider = {
    send: async (req: { to: string[] }) => {
      if (req.to.length > 1) return { kind: 'permanent_recipient', detail: 'Invalid Phone Number' };
      await new Promise((r) => setTimeout(r, 1500));
      return { kind: 'accepted', sessionId: `S${req.to[0]}` };
    },
  } as unknown as SmsProvider;
  const states = await createCampaignStates(c.pg, null, 'unused');
  const writer = new OutcomeWriter(c.pg);
  try {
    const sender = createBatchSender(
      { pg: c.pg, provider, pacer, writer, states, logger: c.logger, pause: async () => undefined, closing: () => false },
      { chunkSize: 10, maxAttempts: 5, lateToleranceMs: 6, sendDeadlineMs: 5000, throttlePenaltyMs: 100 },
    );
    await expect(sender.processBatch({ campaignId, runId: rows[0]!.run_id, ids })).rejects.toThrow('Connection is closed');
    // When the job ends nothing of it is in flight: two singles sent, the one never admitted handed back.
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 2, pending: 1 });
  } finally {
    await states.close();
  }
});
