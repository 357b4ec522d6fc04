/**
 * The campaign lifecycle as a table: a campaign in a given shape (one run or a cron campaign's several, in or out of
 * the TRAI window) × an action, checking the answer, the campaign's next status AND its runs' — a campaign's status
 * and its runs' must never contradict (no run `running` under a paused or finished campaign, no paused run under a
 * running one), and nothing may be left `queued` under a campaign that is not running. No worker runs: the actions
 * are the control functions the CLI, the API, the window watcher and the engine call.
 */
import { useTestEnv } from '../../helpers/env';
import { seedCampaign } from '../../helpers/sending-fixtures';
import {
  cancelCampaign,
  pauseCampaign,
  resumeCampaign,
  retryCampaign,
  startCampaign,
} from '../../../src/sending/campaign-control';
import { completeFinishedRuns } from '../../../src/sending/run-completion';
import { WINDOW_PAUSE_PREFIX, WINDOW_PAUSE_REASON } from '../../../src/campaign/send-window';
import { ConflictError } from '../../../src/errors';

const env = useTestEnv();

/** 14:00 IST (in the window) and 22:00 IST (outside it) of one day. */
const DAY = new Date('2026-11-27T08:30:00Z');
const NIGHT = new Date('2026-11-27T16:30:00Z');

interface State {
  campaign: string;
  pauseReason: string | null;
  runs: string[];
  queued: number;
}

async function stateOf(campaignId: string): Promise<State> {
  const { pg } = env.container();
  const c = await pg.query<{ status: string; pause_reason: string | null }>(`SELECT status::text AS status, pause_reason FROM campaigns WHERE id = $1`, [campaignId]);
  const runs = await pg.query<{ status: string }>(`SELECT status::text AS status FROM campaign_runs WHERE campaign_id = $1 ORDER BY run_number`, [campaignId]);
  const queued = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE campaign_id = $1 AND status = 'queued'`, [campaignId]);
  return { campaign: c.rows[0]!.status, pauseReason: c.rows[0]!.pause_reason, runs: runs.rows.map((r) => r.status), queued: queued.rows[0]!.n };
}

/** The statuses a campaign's runs may have under each campaign status. */
const RUNS_ALLOWED: Record<string, readonly string[]> = {
  draft: [],
  scheduled: ['completed', 'failed', 'cancelled'],
  running: ['running', 'completed', 'failed', 'cancelled'],
  paused: ['paused', 'completed', 'failed', 'cancelled'],
  completed: ['completed', 'failed', 'cancelled'],
  failed: ['completed', 'failed', 'cancelled'],
  cancelled: ['completed', 'failed', 'cancelled'],
};

function expectConsistent(s: State): void {
  const contradicting = s.runs.filter((r) => !RUNS_ALLOWED[s.campaign]!.includes(r));
  expect({ campaign: s.campaign, contradicting }).toEqual({ campaign: s.campaign, contradicting: [] });
  if (s.campaign !== 'running') expect(s.queued).toBe(0);
}

async function runIds(campaignId: string): Promise<string[]> {
  const { rows } = await env.container().pg.query<{ id: string }>(`SELECT id FROM campaign_runs WHERE campaign_id = $1 ORDER BY run_number`, [campaignId]);
  return rows.map((r) => r.id);
}

/** Ends the latest run as the feeder's leader would: every message sent but `failed` ones (retryable). */
async function finishLatestRun(campaignId: string, failed: number): Promise<void> {
  const c = env.container();
  const runId = (await runIds(campaignId)).at(-1)!;
  await c.pg.query(`UPDATE messages SET status = 'sent', attempts = 1, outcome_class = 'accepted' WHERE run_id = $1`, [runId]);
  await c.pg.query(
    `UPDATE messages SET status = 'failed', outcome_class = 'retryable' WHERE id IN (SELECT id FROM messages WHERE run_id = $1 ORDER BY id LIMIT $2)`,
    [runId, failed],
  );
  expect(await completeFinishedRuns(c.pg, [runId])).toHaveLength(1);
}

/** Some of the running run's messages moved to `queued` by the feeder (their jobs in Redis). */
async function queueSome(campaignId: string): Promise<void> {
  const runId = (await runIds(campaignId)).at(-1)!;
  await env.container().pg.query(
    `UPDATE messages SET status = 'queued', queued_at = now() WHERE id IN (SELECT id FROM messages WHERE run_id = $1 AND status = 'pending' ORDER BY id LIMIT 2)`,
    [runId],
  );
}

type Shape = 'one-run running' | 'one-run completed' | 'cron: run 1 done, run 2 running' | 'cron between runs' | 'cron paused between runs';

async function build(shape: Shape, type: 'transactional' | 'promotional'): Promise<string> {
  const c = env.container();
  const { campaignId } = await seedCampaign(c.pg, { recipients: 6, type });
  if (shape.startsWith('cron')) {
    await c.pg.query(`UPDATE campaigns SET cron = '0 10 * * *', status = 'scheduled' WHERE id = $1`, [campaignId]);
  }
  await startCampaign(c, campaignId, { trigger: shape.startsWith('cron') ? 'cron' : 'manual', now: DAY });
  if (shape === 'one-run running') {
    await queueSome(campaignId);
    return campaignId;
  }
  await finishLatestRun(campaignId, 2);
  if (shape === 'cron: run 1 done, run 2 running') {
    await startCampaign(c, campaignId, { trigger: 'cron', now: DAY });
    await queueSome(campaignId);
  }
  if (shape === 'cron paused between runs') await pauseCampaign(c, campaignId, 'paused by operator');
  return campaignId;
}

type Action = (id: string) => Promise<{ campaignId: string; status?: string }>;
const c = (): ReturnType<typeof env.container> => env.container();
const ACTIONS: Record<string, Action> = {
  'pause': (id) => pauseCampaign(c(), id, 'paused by operator'),
  'resume by day': (id) => resumeCampaign(c(), id, { now: DAY }),
  'resume at night': (id) => resumeCampaign(c(), id, { now: NIGHT }),
  'cancel': (id) => cancelCampaign(c(), id),
  'retry by day': (id) => retryCampaign(c(), id, { now: DAY }),
  'retry at night': (id) => retryCampaign(c(), id, { now: NIGHT }),
  'window closes (21:00)': (id) => pauseCampaign(c(), id, WINDOW_PAUSE_REASON),
  'start': (id) => startCampaign(c(), id, { now: DAY }),
};

interface Cell {
  shape: Shape;
  type: 'transactional' | 'promotional';
  action: keyof typeof ACTIONS;
  /** The campaign's next status, or 'conflict' for a refusal (HTTP 409, exit 2). */
  next: string;
  runs?: string[];
  reason?: RegExp;
}

const CELLS: Cell[] = [
  { shape: 'one-run running', type: 'promotional', action: 'pause', next: 'paused', runs: ['paused'] },
  { shape: 'one-run running', type: 'promotional', action: 'window closes (21:00)', next: 'paused', runs: ['paused'] },
  { shape: 'one-run running', type: 'promotional', action: 'cancel', next: 'cancelled', runs: ['cancelled'] },
  { shape: 'one-run running', type: 'promotional', action: 'start', next: 'running', runs: ['running'] },
  { shape: 'one-run running', type: 'promotional', action: 'resume by day', next: 'running', runs: ['running'] },
  { shape: 'one-run completed', type: 'promotional', action: 'retry by day', next: 'running', runs: ['running'] },
  { shape: 'one-run completed', type: 'promotional', action: 'retry at night', next: 'paused', runs: ['paused'], reason: new RegExp(`^${WINDOW_PAUSE_PREFIX}`) },
  { shape: 'one-run completed', type: 'transactional', action: 'retry at night', next: 'running', runs: ['running'] },
  { shape: 'one-run completed', type: 'promotional', action: 'pause', next: 'conflict' },
  { shape: 'one-run completed', type: 'promotional', action: 'cancel', next: 'conflict' },
  { shape: 'one-run completed', type: 'promotional', action: 'start', next: 'conflict' },
  { shape: 'one-run completed', type: 'promotional', action: 'resume by day', next: 'conflict' },
  // The known suspect: the retry pauses the campaign for the window, and its run still sending must pause with it.
  { shape: 'cron: run 1 done, run 2 running', type: 'promotional', action: 'retry at night', next: 'paused', runs: ['paused', 'paused'], reason: new RegExp(`^${WINDOW_PAUSE_PREFIX}`) },
  { shape: 'cron: run 1 done, run 2 running', type: 'promotional', action: 'retry by day', next: 'running', runs: ['running', 'running'] },
  { shape: 'cron: run 1 done, run 2 running', type: 'transactional', action: 'retry at night', next: 'running', runs: ['running', 'running'] },
  { shape: 'cron: run 1 done, run 2 running', type: 'promotional', action: 'pause', next: 'paused', runs: ['completed', 'paused'] },
  { shape: 'cron: run 1 done, run 2 running', type: 'promotional', action: 'cancel', next: 'cancelled', runs: ['completed', 'cancelled'] },
  { shape: 'cron between runs', type: 'promotional', action: 'pause', next: 'paused', runs: ['completed'] },
  { shape: 'cron between runs', type: 'promotional', action: 'cancel', next: 'cancelled', runs: ['completed'] },
  { shape: 'cron between runs', type: 'promotional', action: 'retry at night', next: 'paused', runs: ['paused'], reason: new RegExp(`^${WINDOW_PAUSE_PREFIX}`) },
  { shape: 'cron between runs', type: 'promotional', action: 'retry by day', next: 'running', runs: ['running'] },
  // Resumed, a cron campaign with no paused run goes back to its schedule at any hour: its firings wait for the
  // window themselves. Left paused (for the window) until 09:00, the firing due at 09:00 was skipped as "paused".
  { shape: 'cron paused between runs', type: 'promotional', action: 'resume at night', next: 'scheduled', runs: ['completed'], reason: /^$/ },
  { shape: 'cron paused between runs', type: 'promotional', action: 'resume by day', next: 'scheduled', runs: ['completed'] },
  { shape: 'cron paused between runs', type: 'promotional', action: 'retry at night', next: 'paused', runs: ['paused'] },
  { shape: 'cron paused between runs', type: 'promotional', action: 'cancel', next: 'cancelled', runs: ['completed'] },
];

describe('campaign lifecycle table (campaign and run statuses agree)', () => {
  it.each(CELLS)('$type $shape × $action → $next', async (cell) => {
    const id = await build(cell.shape, cell.type);
    expectConsistent(await stateOf(id));
    const act = ACTIONS[cell.action]!(id);
    if (cell.next === 'conflict') {
      await expect(act).rejects.toBeInstanceOf(ConflictError);
      return;
    }
    const answer = await act;
    const after = await stateOf(id);
    // Every action answers the campaign's status after it (a promotional retry at night: `paused`, waiting for 09:00).
    expect(answer.status).toBe(after.campaign);
    expect(after.campaign).toBe(cell.next);
    if (cell.runs) expect(after.runs).toEqual(cell.runs);
    if (cell.reason) expect(after.pauseReason ?? '').toMatch(cell.reason);
    expectConsistent(after);
  });

  it('cancelling twice answers cancelled and keeps the first cancel: its end time and its runs', async () => {
    const id = await build('one-run running', 'promotional');
    await cancelCampaign(c(), id);
    const endOf = async (): Promise<{ campaign: string; runs: string[] }> => {
      const pg = c().pg;
      const campaign = await pg.query<{ t: string }>(`SELECT completed_at::text AS t FROM campaigns WHERE id = $1`, [id]);
      const runs = await pg.query<{ t: string }>(`SELECT completed_at::text AS t FROM campaign_runs WHERE campaign_id = $1 ORDER BY run_number`, [id]);
      return { campaign: campaign.rows[0]!.t, runs: runs.rows.map((r) => r.t) };
    };
    const first = await endOf();
    await new Promise((r) => setTimeout(r, 20));
    expect(await cancelCampaign(c(), id)).toEqual({ campaignId: id, status: 'cancelled' });
    expect(await endOf()).toEqual(first);
    expect((await stateOf(id)).campaign).toBe('cancelled');
  });

  it('a retry at night of a cron campaign with a run still sending: 09:00 resumes both runs; the operator pause meanwhile holds both', async () => {
    const id = await build('cron: run 1 done, run 2 running', 'promotional');
    await retryCampaign(c(), id, { now: NIGHT });
    // An operator's pause at night replaces the window's reason and must leave no run running.
    await pauseCampaign(c(), id, 'paused by operator');
    let s = await stateOf(id);
    expect(s).toMatchObject({ campaign: 'paused', pauseReason: 'paused by operator', runs: ['paused', 'paused'] });
    // The window's 09:00 resume leaves the operator's pause alone; the operator's resume by day runs both runs.
    expect(await resumeCampaign(c(), id, { onlyIfWindowPause: true, now: DAY })).toMatchObject({ status: 'paused' });
    expect(await resumeCampaign(c(), id, { now: DAY })).toMatchObject({ status: 'running' });
    s = await stateOf(id);
    expect(s).toMatchObject({ campaign: 'running', runs: ['running', 'running'] });
  });
});
