import { createCampaign } from '../../../src/campaign/campaign-service';
import { createWindowWatcher } from '../../../src/campaign/window-watcher';
import { getCampaignStatus, pauseCampaign, resumeCampaign, startCampaign } from '../../../src/sending/campaign-control';
import { useTestEnv } from '../../helpers/env';
import { manyContacts, seedList } from '../../fixtures/seed-list';

const env = useTestEnv();
const ist = (s: string): Date => new Date(`${s}+05:30`);

it('the TRAI window pauses and resumes a real promotional run through the sending engine', async () => {
  const c = env.container();
  await seedList(c.pg, 'l', ['name'], manyContacts(10, (i) => ({ name: `N${i}` })));
  const promo = await createCampaign(c, { name: 'promo', list: 'l', type: 'promotional', from: '123456', text: 'Sale {{name}}' });
  // Started inside the window on the test's own clock: with the real one, a start between 21:00 and 09:00 IST
  // is paused at once and the watcher finds nothing to pause (this test failed every such evening).
  await startCampaign(c, promo.campaignId, { now: ist('2026-11-26T20:59:00') });
  let clock = ist('2026-11-26T21:00:00');
  const watcher = createWindowWatcher(c, {
    pause: (id, reason) => pauseCampaign(c, id, reason),
    resume: (id) => resumeCampaign(c, id),
    now: () => clock,
  });
  expect((await watcher.tick()).paused).toEqual([promo.campaignId]);
  let st = await getCampaignStatus(c, promo.campaignId);
  expect(st.status).toBe('paused');
  expect(st.pauseReason).toMatch(/outside TRAI promotional window/);
  expect(st.runs).toEqual([expect.objectContaining({ status: 'paused' })]);
  clock = ist('2026-11-27T09:00:00');
  expect((await watcher.tick()).resumed).toEqual([promo.campaignId]);
  st = await getCampaignStatus(c, promo.campaignId);
  expect(st.status).toBe('running');
  expect(st.pauseReason).toBeNull();
});
