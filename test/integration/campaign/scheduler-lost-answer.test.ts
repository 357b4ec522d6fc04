/**
 * A scheduled start whose answer is lost after PostgreSQL committed it (the connection cut, a failover, a timeout
 * just after the COMMIT): the run exists and is sending, but the start threw. The firing was recorded `failed` and the
 * campaign alerted "did not start" — the operator was told the opposite of what happened and might start it by hand,
 * sending every recipient twice. A run now records the firing that started it, so the firing finds its run.
 */
import { createCampaign } from '../../../src/campaign/campaign-service';
import { startScheduler, type CampaignScheduler } from '../../../src/campaign/scheduler';
import { startCampaign } from '../../../src/sending/campaign-control';
import { seedList } from '../../fixtures/seed-list';
import { useTestEnv } from '../../helpers/env';

const env = useTestEnv();

let scheduler: CampaignScheduler | null = null;
afterEach(async () => {
  await scheduler?.close();
  scheduler = null;
});

it.each(['cron', 'at'] as const)('a %s firing whose start committed but lost its answer is recorded started, not alerted', async (trigger) => {
  const c = env.container();
  const list = `lost-answer-${trigger}`;
  await seedList(c.pg, list, ['name'], [{ phone: '+919876520001', vars: { name: 'A' } }]);
  const dueAt = Date.now() - 1000;
  const schedule = trigger === 'cron' ? { cron: '0 3 * * *' } : { at: new Date(Date.now() + 3_600_000).toISOString() };
  const { campaignId } = await createCampaign(c, { name: `lost-${trigger}`, list, type: 'transactional', from: 'TFCTOR', text: 'Hi {{name}}', ...schedule });

  scheduler = await startScheduler(c, {
    // The start as the worker wires it, then the answer lost: committed, and the caller sees only an error.
    startRun: async (id, t, info) => {
      await startCampaign(c, id, { trigger: t, dueAt: info.dueAt });
      throw new Error('Connection terminated unexpectedly');
    },
  });
  const outcome = await scheduler.fire({ campaignId, trigger }, dueAt);

  const firing = await c.prisma.scheduleFiring.findUniqueOrThrow({ where: { campaignId_dueAt: { campaignId, dueAt: new Date(dueAt) } } });
  const runs = await c.prisma.campaignRun.findMany({ where: { campaignId }, select: { dueAt: true } });
  const campaign = await c.prisma.campaign.findUniqueOrThrow({ where: { id: campaignId } });
  expect({ outcome, firing: firing.outcome, alert: campaign.alert, status: campaign.status }).toEqual({ outcome: 'started', firing: 'started', alert: null, status: 'running' });
  expect(runs).toEqual([{ dueAt: new Date(dueAt) }]);
});

it('a start that failed before its run was created is still recorded failed and alerted', async () => {
  const c = env.container();
  await seedList(c.pg, 'lost-answer-none', ['name'], [{ phone: '+919876520002', vars: { name: 'B' } }]);
  const { campaignId } = await createCampaign(c, { name: 'no-run', list: 'lost-answer-none', type: 'transactional', from: 'TFCTOR', text: 'Hi {{name}}', cron: '0 3 * * *' });
  scheduler = await startScheduler(c, {
    startRun: async () => {
      throw new Error('Connection terminated unexpectedly');
    },
  });
  const dueAt = Date.now() - 1000;
  expect(await scheduler.fire({ campaignId, trigger: 'cron' }, dueAt)).toBe('failed');
  const campaign = await c.prisma.campaign.findUniqueOrThrow({ where: { id: campaignId } });
  expect(campaign.alert).toMatch(/did not start: an internal error/);
});
