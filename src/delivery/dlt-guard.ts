/**
 * Stops a campaign whose messages the operators reject for DLT (DLT-CNT-REJECT in delivery reports): the template
 * text, sender header or PE/template id does not match the registration, so every further message is paid for
 * and rejected too. One rejection alone is not enough: a single recipient's value (too long for the template's
 * variable) can be rejected while the rest are delivered. So the campaign is paused once at least `minRejects` of
 * its open runs' messages are rejections and they are at least `minShare` of the messages that went out (sent,
 * delivered or failed) — not of the reports in: operators' DLT scrubbing answers at once, handsets' DELIVRD later,
 * so the first 20 reports of a campaign with a few bad values were all rejections.
 *
 * Once only: the campaign's alert records the pause, and after an operator resumes it (the registration fixed, or
 * the risk accepted) rejections keep raising the alert but no longer pause it — its earlier rejections would
 * otherwise pause it again at the first new report.
 */
import type { Container } from '../container';
import { pauseCampaign } from '../sending/campaign-control';

export interface DltPausePolicy {
  minRejects: number;
  minShare: number;
}

export const DLT_PAUSE_POLICY: DltPausePolicy = { minRejects: 20, minShare: 0.5 };

/** Prefix of the alert a DLT pause leaves (the plain DLT alert starts with DLT-CNT-REJECT too). */
export const DLT_PAUSED_ALERT = 'DLT-CNT-REJECT (campaign paused)';

/** Pure: should reports with these counts pause the campaign? */
export function dltRejectsWarrantPause(counts: { rejects: number; wentOut: number }, policy: DltPausePolicy = DLT_PAUSE_POLICY): boolean {
  return counts.rejects >= policy.minRejects && counts.wentOut > 0 && counts.rejects / counts.wentOut >= policy.minShare;
}

export function dltPauseReason(counts: { rejects: number; wentOut: number }): string {
  return (
    `DLT-CNT-REJECT: operators rejected ${counts.rejects} of ${counts.wentOut} messages sent so far ` +
    '(template text, sender header or PE/template id not matching the DLT registration); fix the registration, then resume'
  );
}

type Deps = Pick<Container, 'pg' | 'logger' | 'redis' | 'config'>;

/**
 * Judges the given campaigns (each just got a DLT rejection) and pauses those over the policy. The count reads
 * every message of the campaign's open runs that went out (~1 µs each), so in this process a campaign is judged
 * again only after 0.1 ms per message counted (at most `maxIntervalMs`): a million messages, once per 10 s at most;
 * a small campaign at nearly every rejection.
 */
export function createDltGuard(policy: DltPausePolicy = DLT_PAUSE_POLICY, maxIntervalMs = 10_000) {
  const nextJudgement = new Map<string, number>();
  return async function judge(deps: Deps, campaignIds: readonly string[]): Promise<string[]> {
    const paused: string[] = [];
    for (const campaignId of campaignIds) {
      if (performance.now() < (nextJudgement.get(campaignId) ?? 0)) continue;
      const { rows } = await deps.pg.query<{ rejects: number; wentOut: number }>(
        `SELECT count(*) FILTER (WHERE m.status = 'failed' AND m.failure_reason LIKE 'DLT-CNT-REJECT%')::int AS rejects,
                count(*)::int AS "wentOut"
           FROM messages m
          WHERE m.run_id IN (SELECT r.id FROM campaign_runs r JOIN campaigns c ON c.id = r.campaign_id
                              WHERE r.campaign_id = $1 AND r.status = 'running' AND c.status = 'running'
                                AND (c.alert IS NULL OR c.alert NOT LIKE $2 || '%'))
            AND m.status IN ('sent', 'delivered', 'failed')`,
        [campaignId, DLT_PAUSED_ALERT],
      );
      const counts = rows[0] ?? { rejects: 0, wentOut: 0 };
      // Nothing counted: the campaign is not running (or paused already); forget it rather than keep an entry.
      if (counts.wentOut === 0) nextJudgement.delete(campaignId);
      else nextJudgement.set(campaignId, performance.now() + Math.min(maxIntervalMs, counts.wentOut * 0.1));
      if (!dltRejectsWarrantPause(counts, policy)) continue;
      const reason = dltPauseReason(counts);
      // The alert marks the pause first, conditionally: of two processes judging at once, one pauses.
      const mark = `${DLT_PAUSED_ALERT}: ${reason}`;
      const marked = await deps.pg.query<{ previous: string | null }>(
        `UPDATE campaigns c SET alert = $3, updated_at = now()
           FROM (SELECT id, alert FROM campaigns WHERE id = $1 FOR UPDATE) old
          WHERE c.id = old.id AND c.status = 'running' AND (c.alert IS NULL OR c.alert NOT LIKE $2 || '%')
      RETURNING old.alert AS previous`,
        [campaignId, DLT_PAUSED_ALERT, mark],
      );
      if (!marked.rowCount) continue;
      nextJudgement.delete(campaignId);
      try {
        await pauseCampaign(deps, campaignId, reason);
      } catch (err) {
        // The pause did not happen (PostgreSQL failed it, or the campaign ended meanwhile): the mark goes back, or
        // it claimed a pause that never was, and — the guard pausing only campaigns not marked — kept every later
        // rejection from pausing the campaign while it went on paying for rejected messages.
        await deps.pg
          .query(`UPDATE campaigns SET alert = $3, updated_at = now() WHERE id = $1 AND alert = $2`, [campaignId, mark, marked.rows[0]!.previous])
          .catch((undo: unknown) => deps.logger.error({ err: undo, campaignId }, 'could not take back the DLT pause mark of a campaign not paused'));
        throw err;
      }
      deps.logger.error({ campaignId, ...counts }, 'campaign paused: operators reject its messages for DLT');
      paused.push(campaignId);
    }
    return paused;
  };
}
