/**
 * bulksms_message_outcomes_total counts each attempt's outcome once, as the database's write decides: a message
 * crash recovery recorded `unknown` (its worker slow, not dead) whose answer then lands is not counted a second
 * time — the late answer is counted apart, as bulksms_unknown_resolved_total — and an outcome written again (the
 * writer retrying a commit whose answer was lost, a job re-delivered) that changes nothing counts nothing.
 */
import { useTestEnv } from '../../helpers/env';
import { seedCampaign } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';
import { claimMessages, writeOutcomes, type OutcomeRow } from '../../../src/sending/ledger';
import { expireStaleSending } from '../../../src/sending/recovery';
import { metricsRegistry } from '../../../src/metrics';

const env = useTestEnv();

/** Every series of the two counters, as `name{status}` → value. */
async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of ['bulksms_message_outcomes_total', 'bulksms_unknown_resolved_total']) {
    const metric = metricsRegistry.getSingleMetric(name);
    for (const v of (await metric?.get())?.values ?? []) out[`${name}{${String(v.labels.status)}}`] = v.value;
  }
  return out;
}

function added(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, d]) => d !== 0));
}

async function inFlight(recipients: number) {
  const c = env.container();
  const { campaignId } = await seedCampaign(c.pg, { recipients });
  await startCampaign(c, campaignId);
  await c.pg.query(`UPDATE messages SET status = 'queued' WHERE campaign_id = $1`, [campaignId]);
  const { rows } = await c.pg.query<{ id: string }>(`SELECT id::text AS id FROM messages WHERE campaign_id = $1 ORDER BY id`, [campaignId]);
  return claimMessages(c.pg, rows.map((r) => r.id));
}

describe('message outcomes are counted once per attempt', () => {
  it('a late answer to a message recovery recorded `unknown` is not counted again; its status lands in the database', async () => {
    const c = env.container();
    const claims = await inFlight(3);
    const before = await counts();
    // Crash recovery of another worker: the claims' lease is over, though their worker is only slow.
    expect(await expireStaleSending(c.pg, 0)).toBe(3);
    const answers: OutcomeRow[] = [
      { id: claims[0]!.id, attempts: claims[0]!.attempts, claimedAt: claims[0]!.claimedAt, status: 'sent', sessionId: 'late-1', outcomeClass: 'accepted' },
      { id: claims[1]!.id, attempts: claims[1]!.attempts, claimedAt: claims[1]!.claimedAt, status: 'failed', outcomeClass: 'permanent_recipient', failureReason: 'DND' },
    ];
    expect(await writeOutcomes(c.pg, answers)).toBe(2);
    // Written again (the writer's retry after a lost commit answer): nothing changes, nothing is counted.
    expect(await writeOutcomes(c.pg, answers)).toBe(0);

    expect(added(before, await counts())).toEqual({
      'bulksms_message_outcomes_total{unknown}': 3,
      'bulksms_unknown_resolved_total{sent}': 1,
      'bulksms_unknown_resolved_total{failed}': 1,
    });
    const { rows } = await c.pg.query<{ status: string; n: number }>(
      `SELECT status::text AS status, count(*)::int AS n FROM messages WHERE id = ANY($1::bigint[]) GROUP BY status ORDER BY status`,
      [claims.map((m) => m.id)],
    );
    expect(rows).toEqual([{ status: 'failed', n: 1 }, { status: 'sent', n: 1 }, { status: 'unknown', n: 1 }]);
  });

  it('answers in time are counted once each, by the status written', async () => {
    const c = env.container();
    const claims = await inFlight(2);
    const before = await counts();
    const rows: OutcomeRow[] = claims.map((m) => ({ id: m.id, attempts: m.attempts, claimedAt: m.claimedAt, status: 'sent', sessionId: `s-${m.id}`, outcomeClass: 'accepted' }));
    expect(await writeOutcomes(c.pg, rows)).toBe(2);
    expect(await writeOutcomes(c.pg, rows)).toBe(0);
    expect(added(before, await counts())).toEqual({ 'bulksms_message_outcomes_total{sent}': 2 });
  });
});
