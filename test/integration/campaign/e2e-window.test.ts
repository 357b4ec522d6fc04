import { createCampaign } from '../../../src/campaign/campaign-service';
import { createWindowWatcher } from '../../../src/campaign/window-watcher';
import { getCampaignStatus, pauseCampaign, resumeCampaign, retryCampaign, startCampaign } from '../../../src/sending/campaign-control';
import { useTestEnv } from '../../helpers/env';
import { manyContacts, seedList } from '../../fixtures/seed-list';

const env = useTestEnv();
const ist = (s: string): Date => new Date(`${s}+05:30`);

/** A promotional campaign on a list of its own, started at `startAt` on the test's clock (IST). */
async function promotional(name: string, recipients: number, startAt: string): Promise<string> {
  const c = env.container();
  await seedList(c.pg, `${name}-list`, ['name'], manyContacts(recipients, (i) => ({ name: `N${i}` })));
  const { campaignId } = await createCampaign(c, { name, list: `${name}-list`, type: 'promotional', from: '123456', text: 'Sale {{name}}' });
  await startCampaign(c, campaignId, { now: ist(startAt) });
  return campaignId;
}

/** The window watcher wired as the worker wires it (the 09:00 resume only undoes the window's own pause), on `clock`. */
function watcherOn(clock: { now: Date }): ReturnType<typeof createWindowWatcher> {
  const c = env.container();
  return createWindowWatcher(c, {
    pause: (id, reason) => pauseCampaign(c, id, reason),
    resume: (id) => resumeCampaign(c, id, { onlyIfWindowPause: true, now: clock.now }),
    now: () => clock.now,
  });
}

it('the TRAI window pauses and resumes a real promotional run through the sending engine', async () => {
  const c = env.container();
  // Started inside the window on the test's own clock: with the real one, a start between 21:00 and 09:00 IST
  // is paused at once and the watcher finds nothing to pause (this test failed every such evening).
  const promo = await promotional('promo', 10, '2026-11-26T20:59:00');
  const clock = { now: ist('2026-11-26T21:00:00') };
  const watcher = watcherOn(clock);
  expect((await watcher.tick()).paused).toEqual([promo]);
  let st = await getCampaignStatus(c, promo);
  expect(st.status).toBe('paused');
  expect(st.pauseReason).toMatch(/outside TRAI promotional window/);
  expect(st.runs).toEqual([expect.objectContaining({ status: 'paused' })]);
  clock.now = ist('2026-11-27T09:00:00');
  expect((await watcher.tick()).resumed).toEqual([promo]);
  st = await getCampaignStatus(c, promo);
  expect(st.status).toBe('running');
  expect(st.pauseReason).toBeNull();
});

it('an operator’s pause of a campaign the window paused is not undone at 09:00', async () => {
  const c = env.container();
  const promo = await promotional('promo2', 5, '2026-11-26T20:59:00');
  const clock = { now: ist('2026-11-26T21:00:00') };
  const watcher = watcherOn(clock);
  expect((await watcher.tick()).paused).toContain(promo); // (the first test's campaign too)
  clock.now = ist('2026-11-26T22:00:00');
  expect(await pauseCampaign(c, promo, 'operator: wrong text')).toEqual({ campaignId: promo, status: 'paused' });
  expect((await getCampaignStatus(c, promo)).pauseReason).toBe('operator: wrong text');
  clock.now = ist('2026-11-27T09:00:00');
  expect((await watcher.tick()).resumed).not.toContain(promo);
  expect(await getCampaignStatus(c, promo)).toMatchObject({ status: 'paused', pauseReason: 'operator: wrong text' });
  // Resumed by hand at night, it waits for the window instead of sending until the watcher's next tick.
  expect(await resumeCampaign(c, promo, { now: ist('2026-11-27T23:00:00') })).toEqual({ campaignId: promo, status: 'paused' });
  expect((await getCampaignStatus(c, promo)).pauseReason).toMatch(/outside TRAI promotional window/);
  expect(await resumeCampaign(c, promo, { now: ist('2026-11-28T10:00:00') })).toEqual({ campaignId: promo, status: 'running' });
});

it('a promotional campaign retried at night waits for the window, then the 09:00 resume sends it', async () => {
  const c = env.container();
  const promo = await promotional('promo3', 4, '2026-11-26T12:00:00');
  // It ran to the end: three sent, one failed with a retryable answer.
  await c.pg.query(`UPDATE messages SET status = 'sent', attempts = 1 WHERE campaign_id = $1`, [promo]);
  await c.pg.query(`UPDATE messages SET status = 'failed', outcome_class = 'retryable' WHERE id = (SELECT min(id) FROM messages WHERE campaign_id = $1)`, [promo]);
  await c.pg.query(`UPDATE campaign_runs SET status = 'completed' WHERE campaign_id = $1`, [promo]);
  await c.pg.query(`UPDATE campaigns SET status = 'completed' WHERE id = $1`, [promo]);

  expect(await retryCampaign(c, promo, { now: ist('2026-11-26T23:00:00') })).toEqual({ campaignId: promo, requeued: 1, status: 'paused', archiving: 0, notRetried: { failed: 0, unknown: 0 } });
  let st = await getCampaignStatus(c, promo);
  expect(st.status).toBe('paused');
  expect(st.pauseReason).toMatch(/outside TRAI promotional window/);
  expect(st.runs).toEqual([expect.objectContaining({ status: 'paused' })]);
  const watcher = watcherOn({ now: ist('2026-11-27T09:00:00') });
  expect((await watcher.tick()).resumed).toContain(promo);
  st = await getCampaignStatus(c, promo);
  expect(st).toMatchObject({ status: 'running', pauseReason: null });
  expect(st.runs).toEqual([expect.objectContaining({ status: 'running' })]);
});
