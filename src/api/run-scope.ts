/**
 * `?run=N` on a campaign's failures and messages: one run of it (a cron campaign has one per firing), the same
 * scope as the counts the campaign page shows. Without it, every run of the campaign.
 */
import type { Pool } from 'pg';
import { NotFoundError } from '../errors';
import { inCampaignRuns } from '../sending/ledger';

export const runQuerySchema = {
  type: 'integer',
  minimum: 1,
  maximum: 2147483647,
  description: 'run number (1 = the first start or firing); omitted: every run of the campaign',
} as const;

/** The id of the campaign's run `run` (undefined without one); a run the campaign does not have is a 404. */
export async function runIdOf(pg: Pool, campaignId: string, run: number | undefined): Promise<string | undefined> {
  if (run === undefined) return undefined;
  const { rows } = await pg.query<{ id: string }>(
    'SELECT id FROM campaign_runs WHERE campaign_id = $1 AND run_number = $2',
    [campaignId, run],
  );
  if (!rows[0]) throw new NotFoundError(`campaign ${campaignId} has no run ${run}`);
  return rows[0].id;
}

/**
 * SQL condition on `messages` and its one parameter (`$1`): the run's messages when a run id is given, else those
 * of every run of the campaign.
 */
export function messagesOf(campaignId: string, runId: string | undefined): { where: string; params: [string] } {
  return runId ? { where: 'run_id = $1::uuid', params: [runId] } : { where: inCampaignRuns('$1'), params: [campaignId] };
}
