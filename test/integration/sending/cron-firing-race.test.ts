/**
 * A cron firing reads the campaign's status, checks the credits (a provider request: seconds), then starts the run.
 * When something made the campaign run again in between — an operator's `campaign retry` of the last run, or another
 * firing of the schedule — the start used to answer with the run under way (a start is idempotent for operators),
 * and the firing was recorded `started`: no run was created for that instant, its recipients never got that day's
 * SMS, and nothing said so. It is now skipped and the campaign alerted, as when the run was seen busy before.
 */
import { createCampaign } from '../../../src/campaign/campaign-service';
import { startScheduler, type CampaignScheduler } from '../../../src/campaign/scheduler';
import { retryCampaign, startCampaign } from '../../../src/sending/campaign-control';
import { completeFinishedRuns } from '../../../src/sending/run-completion';
import { seedList } from '../../fixtures/seed-list';
import { useTestEnv } from '../../helpers/env';

const env = useTestEnv();

let scheduler: CampaignScheduler | null = null;
afterEach(async () => {
  await scheduler?.close();
  scheduler = null;
});

it('a cron firing that finds its campaign re-opened by a retry while it checked credits is skipped and alerted, not recorded as started', async () => {
  const c = env.container();
  await seedList(c.pg, 'cron-race', ['name'], [{ phone: '+919876510001', vars: { name: 'A' } }]);
  const { campaignId } = await createCampaign(c, { name: 'daily', list: 'cron-race', type: 'transactional', from: 'TFCTOR', text: 'Hi {{name}}', cron: '0 3 * * *' });
  // Run 1 went out and ended with a failure a retry can send again (certainly not sent): campaign completed.
  const { runId } = await startCampaign(c, campaignId, { trigger: 'cron' });
  await c.pg.query(`UPDATE messages SET status = 'failed', outcome_class = 'retryable', failure_reason = 'gave up' WHERE run_id = $1`, [runId]);
  await completeFinishedRuns(c.pg, [runId]);
  expect((await c.prisma.campaign.findUniqueOrThrow({ where: { id: campaignId } })).status).toBe('failed');

  // The next firing: while its credit check runs, the operator retries run 1.
  scheduler = await startScheduler(c, {
    prepareRun: async () => {
      expect((await retryCampaign(c, campaignId)).requeued).toBe(1);
    },
    startRun: (id, trigger) => startCampaign(c, id, { trigger }),
  });
  const dueAt = Date.now() - 1000;
  const outcome = await scheduler.fire({ campaignId, trigger: 'cron' }, dueAt);

  const firing = await c.prisma.scheduleFiring.findUniqueOrThrow({ where: { campaignId_dueAt: { campaignId, dueAt: new Date(dueAt) } } });
  const runs = await c.prisma.campaignRun.count({ where: { campaignId } });
  const campaign = await c.prisma.campaign.findUniqueOrThrow({ where: { id: campaignId } });
  // Only run 1 exists (re-opened by the retry): the firing did not start a run, and it must not say it did.
  expect({ outcome, runs, firing: firing.outcome?.split(':')[0] }).toEqual({ outcome: 'skipped', runs: 1, firing: 'skipped' });
  expect(campaign.alert).toMatch(/^cron run due .* skipped: the previous run was still sending$/);
});
