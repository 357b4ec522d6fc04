/** A worker's campaign-settings cache: a load that failed once (PostgreSQL blip) is tried again on the next get. */
import type { Pool } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign } from '../../helpers/sending-fixtures';
import { createCampaignStates } from '../../../src/sending/campaign-states';

const env = useTestEnv();

/** The pool, except that its first query fails as a dropped connection does. */
function failingOnce(pg: Pool): Pool {
  let failed = false;
  return new Proxy(pg, {
    get(target, prop, receiver) {
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return (...args: unknown[]) => {
        if (!failed) {
          failed = true;
          return Promise.reject(new Error('Connection terminated unexpectedly'));
        }
        return (target.query as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

describe('campaign settings cache', () => {
  it('loads a campaign again after a failed load instead of failing its jobs for good', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 1 });
    const states = await createCampaignStates(failingOnce(c.pg), null, 'unused', 50);
    try {
      await expect(states.get(campaignId)).rejects.toThrow('terminated');
      await expect(states.get(campaignId)).resolves.toMatchObject({ id: campaignId });
    } finally {
      await states.close();
    }
  });
});

describe('a status this worker set itself', () => {
  it('outlasts polls that still read the old status, until PostgreSQL shows it', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 1 });
    await c.pg.query(`UPDATE campaigns SET status = 'running' WHERE id = $1`, [campaignId]);
    const states = await createCampaignStates(c.pg, null, 'unused', 20);
    try {
      await states.get(campaignId);
      // The engine pauses the campaign; its transaction has not committed yet: polls still read `running`.
      states.set(campaignId, 'paused');
      await new Promise((r) => setTimeout(r, 200));
      expect(states.status(campaignId)).toBe('paused');
      // Committed, then resumed by an operator: PostgreSQL's status is followed again.
      await c.pg.query(`UPDATE campaigns SET status = 'paused' WHERE id = $1`, [campaignId]);
      await new Promise((r) => setTimeout(r, 200));
      await c.pg.query(`UPDATE campaigns SET status = 'running' WHERE id = $1`, [campaignId]);
      await new Promise((r) => setTimeout(r, 200));
      expect(states.status(campaignId)).toBe('running');
    } finally {
      await states.close();
    }
  });
});
