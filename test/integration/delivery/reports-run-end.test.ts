/**
 * Delivery reports meet the end of a run: a message the provider accepted and a report then failed went out (it was
 * paid for, it has a session id), so a run whose messages all failed that way is `completed`, not `failed` ("failed
 * when nothing went out"). Whether its reports came before or after the leader's completion check must not matter.
 */
import { applyDeliveryCallback } from '../../../src/delivery/webhook';
import { getCampaignStatus, startCampaign } from '../../../src/sending/campaign-control';
import { completeFinishedRuns } from '../../../src/sending/run-completion';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign } from '../../helpers/sending-fixtures';

const env = useTestEnv();

/** A started campaign whose messages were all accepted by the provider (`sent`, one session id each). */
async function allSent(recipients: number): Promise<{ campaignId: string; runId: string; sessions: Array<[string, string]> }> {
  const c = env.container();
  const { campaignId } = await seedCampaign(c.pg, { recipients });
  const { runId } = await startCampaign(c, campaignId);
  const { rows } = await c.pg.query<{ session: string; phone: string }>(
    `UPDATE messages SET status = 'sent', attempts = 1, outcome_class = 'accepted', session_id = 'end-' || id, sent_at = now()
      WHERE run_id = $1 RETURNING session_id AS session, phone`,
    [runId],
  );
  return { campaignId, runId, sessions: rows.map((r) => [r.session, r.phone]) };
}

const rejected = (sessionId: string, phone: string): Record<string, string> => ({
  SessionId: sessionId,
  SmsTo: phone.replace(/^\+/, ''),
  SmsStatus: 'DLT-CNT-REJECT',
  ErrorId: '1',
  ErrorPermanent: 'true',
});

async function runAndCampaign(campaignId: string): Promise<{ run: string; campaign: string }> {
  const { rows } = await env.container().pg.query<{ run: string; campaign: string }>(
    `SELECT r.status::text AS run, c.status::text AS campaign FROM campaigns c JOIN campaign_runs r ON r.campaign_id = c.id WHERE c.id = $1`,
    [campaignId],
  );
  return rows[0]!;
}

describe('delivery reports and the end of a run', () => {
  it('a run whose accepted messages all failed by delivery report ends completed, as when the reports come later', async () => {
    const c = env.container();
    // Reports first (the webhook is faster than the leader's completion check), then the check.
    const early = await allSent(3);
    for (const [sessionId, phone] of early.sessions) expect((await applyDeliveryCallback(c, rejected(sessionId, phone))).updated).toBe(1);
    await completeFinishedRuns(c.pg, [early.runId]);
    expect(await runAndCampaign(early.campaignId)).toEqual({ run: 'completed', campaign: 'completed' });

    // The check first, then the reports: the same messages, the same end.
    const late = await allSent(3);
    await completeFinishedRuns(c.pg, [late.runId]);
    for (const [sessionId, phone] of late.sessions) await applyDeliveryCallback(c, rejected(sessionId, phone));
    expect(await runAndCampaign(late.campaignId)).toEqual({ run: 'completed', campaign: 'completed' });

    // And the counters say what happened to each message.
    for (const { campaignId } of [early, late]) {
      expect((await getCampaignStatus(c, campaignId)).counts).toMatchObject({ failed: 3, sent: 0, delivered: 0 });
    }
  });
});
