/** Crash recovery reaches a cancelled campaign's in-flight claims however long after the cancel a worker runs again. */
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, statusCounts } from '../../helpers/sending-fixtures';
import { cancelCampaign, startCampaign } from '../../../src/sending/campaign-control';
import { expireStaleSending } from '../../../src/sending/recovery';

const env = useTestEnv();

it.each([
  ['an hour', '1 hour'],
  ['three days', '3 days'],
])('a claim left sending by a worker killed at the cancel becomes unknown when recovery first runs %s later', async (_when, ago) => {
  const c = env.container();
  const { campaignId } = await seedCampaign(c.pg, { recipients: 3 });
  await startCampaign(c, campaignId);
  // One request in flight when the worker died; the cancel then made the rest cancelled.
  await c.pg.query(
    `UPDATE messages SET status = 'sending', attempts = 1, sending_at = now() - interval '10 minutes'
      WHERE id = (SELECT min(id) FROM messages WHERE campaign_id = $1)`,
    [campaignId],
  );
  await cancelCampaign(c, campaignId);
  await c.pg.query(`UPDATE campaigns SET updated_at = now() - $2::interval WHERE id = $1`, [campaignId, ago]);

  expect(await expireStaleSending(c.pg, 120_000)).toBe(1);
  expect(await statusCounts(c.pg, campaignId)).toEqual({ unknown: 1, cancelled: 2 });
});
