/**
 * Cancelling a scheduled campaign removes its BullMQ job scheduler / delayed job at once, not only when a
 * scheduler next fires or resyncs; and no run starts afterwards.
 */
import { createCampaign } from '../../../src/campaign/campaign-service';
import { createScheduleQueue, cronSchedulerId, type ScheduleJobData } from '../../../src/campaign/schedule-queue';
import { startScheduler, type StartRun } from '../../../src/campaign/scheduler';
import { cancelCampaign } from '../../../src/sending/campaign-control';
import { useTestEnv } from '../../helpers/env';
import { runCli } from '../../helpers/cli';
import { seedList } from '../../fixtures/seed-list';

const env = useTestEnv();

beforeAll(async () => {
  await seedList(env.container().pg, 'l', ['name'], [{ phone: '+919876500001', vars: { name: 'A' } }]);
});

/** What Redis holds for a campaign's schedule: job scheduler ids and ids of jobs not yet processed. */
async function redisSchedule(campaignId: string): Promise<{ schedulers: string[]; jobs: string[] }> {
  const queue = createScheduleQueue(env.container());
  try {
    const schedulers = (await queue.getJobSchedulers(0, -1)).map((s) => s.key).filter((k) => k.includes(campaignId));
    const jobs = (await queue.getJobs(['delayed', 'waiting', 'prioritized']))
      .filter((j) => (j.data as ScheduleJobData | undefined)?.campaignId === campaignId)
      .map((j) => j.id ?? '?');
    return { schedulers, jobs };
  } finally {
    await queue.close();
  }
}

describe('cancel unschedules at once', () => {
  it('campaign create --cron, then campaign cancel: the job scheduler is gone from Redis and no run starts', async () => {
    // Every second, so a scheduler left behind would fire within the observation window below.
    const created = await runCli(
      ['campaign', 'create', '--name', 'every-second', '--list', 'l', '--type', 'transactional', '--from', 'TFCTOR', '--text', 'Hi {{name}}',
        '--cron', '* * * * * *', '--json'],
      env.env,
    );
    expect(created.code).toBe(0);
    const { campaignId } = JSON.parse(created.stdout) as { campaignId: string };
    const before = await redisSchedule(campaignId);
    expect(before.schedulers).toEqual([cronSchedulerId(campaignId)]);
    expect(before.jobs.length).toBeGreaterThan(0);

    const cancelled = await runCli(['campaign', 'cancel', campaignId, '--json'], env.env);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toEqual({ campaignId, status: 'cancelled' });
    expect(await redisSchedule(campaignId)).toEqual({ schedulers: [], jobs: [] });

    // A scheduler running now finds nothing to fire for it.
    const calls: string[] = [];
    const record: StartRun = async (id) => {
      calls.push(id);
    };
    const scheduler = await startScheduler(env.container(), { startRun: record, prepareRun: record, epochCheckMs: 60_000, resyncMs: 60_000 });
    try {
      await new Promise((r) => setTimeout(r, 2500));
    } finally {
      await scheduler.close();
    }
    expect(calls).toEqual([]);
    const { rows } = await env.container().pg.query<{ firings: number; runs: number; status: string }>(
      `SELECT (SELECT count(*)::int FROM schedule_firings WHERE campaign_id = $1) AS firings,
              (SELECT count(*)::int FROM campaign_runs WHERE campaign_id = $1) AS runs,
              (SELECT status::text FROM campaigns WHERE id = $1) AS status`,
      [campaignId],
    );
    expect(rows[0]).toEqual({ firings: 0, runs: 0, status: 'cancelled' });
  }, 120_000);

  it.each(['completed', 'failed'])('a cron campaign between firings (its last run %s) can be cancelled, which ends its schedule', async (ended) => {
    const c = env.container();
    const r = await createCampaign(c, { name: `cron-${ended}`, list: 'l', type: 'transactional', from: 'TFCTOR', text: 'Hi {{name}}', cron: '0 9 * * *' });
    // What a finished cron run leaves: the campaign completed (or failed) until the next firing.
    await c.pg.query(`UPDATE campaigns SET status = $2::"CampaignStatus", completed_at = now() WHERE id = $1`, [r.campaignId, ended]);
    expect((await redisSchedule(r.campaignId)).schedulers).toEqual([cronSchedulerId(r.campaignId)]);
    expect(await cancelCampaign(c, r.campaignId)).toEqual({ campaignId: r.campaignId, status: 'cancelled' });
    expect(await redisSchedule(r.campaignId)).toEqual({ schedulers: [], jobs: [] });
  });

  it('a one-off campaign that completed cannot be cancelled', async () => {
    const c = env.container();
    const r = await createCampaign(c, { name: 'done-once', list: 'l', type: 'transactional', from: 'TFCTOR', text: 'Hi {{name}}' });
    await c.pg.query(`UPDATE campaigns SET status = 'completed' WHERE id = $1`, [r.campaignId]);
    await expect(cancelCampaign(c, r.campaignId)).rejects.toThrow(/is completed and cannot be cancelled/);
  });

  it('an --at campaign: its delayed job is removed by cancel', async () => {
    const c = env.container();
    const r = await createCampaign(c, {
      name: 'later', list: 'l', type: 'transactional', from: 'TFCTOR', text: 'Hi {{name}}', at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect((await redisSchedule(r.campaignId)).jobs).toHaveLength(1);
    await cancelCampaign(c, r.campaignId);
    expect(await redisSchedule(r.campaignId)).toEqual({ schedulers: [], jobs: [] });
  });
});
