/**
 * A pause (or cancel) that commits while a feeding pass runs must not leave the pass's rows `queued` under a
 * campaign that is not running. The feeder's move used to read the campaign's status from its statement's
 * snapshot: a pause committing after that snapshot and before the move committed found nothing queued to hand
 * back, and the move then queued rows of a paused campaign (CI: `bulksms send` interrupted reported 10 queued).
 * A cancel also rewrites the pending rows, so the move skips them as locked; it is here so that stays true.
 * Likewise a message released by the outcome writer (claimed, not sent: pause, shutdown) while a cancel commits
 * must end `cancelled`, not `pending` under a cancelled campaign.
 */
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, statusCounts } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';
import { completeFinishedRuns } from '../../../src/sending/run-completion';
import { cancelCampaign, retryCampaign } from '../../../src/sending/campaign-control';
import { OutcomeWriter, claimMessages, writeOutcomes, type ClaimedMessage } from '../../../src/sending/ledger';
import { startFeeder, type Feeder } from '../../../src/sending/feeder';
import { expireStaleSending } from '../../../src/sending/recovery';
import { SEND_QUEUE, sendingKeys, type SendJobData } from '../../../src/sending/keys';

const env = useTestEnv({ SMS_RATE_LIMIT: '200' });

/** A feeder (and queue) of the test's own, started while nothing runs: its first pass finds nothing, then it naps. */
async function idleFeeder(name: string): Promise<{ feeder: Feeder; queue: Queue<SendJobData>; close(): Promise<void> }> {
  const c = env.container();
  const queue = new Queue<SendJobData>(SEND_QUEUE, { connection: c.redis, prefix: env.config.QUEUE_PREFIX });
  const feeder = startFeeder(
    { pg: c.pg, redis: c.redis, queue, logger: c.logger, newClient: () => new Client({ connectionString: env.config.DATABASE_URL }) },
    { window: 20, batchSize: 5, tickMs: 20, idleTickMs: 600_000, leaseMs: 60_000, staleQueuedMs: 60_000, epochKey: sendingKeys(env.config.QUEUE_PREFIX).epoch, lockKey: `${name}:${env.config.QUEUE_PREFIX}` },
  );
  expect(await feeder.tick()).toBe(0);
  return {
    feeder,
    queue,
    close: async () => {
      await feeder.close();
      await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}

describe('feeder racing a status change', () => {
  it.each([
    ['paused', `UPDATE messages SET status = 'pending', queued_at = NULL WHERE campaign_id = $1 AND status = 'queued'`],
    ['cancelled', `UPDATE messages SET status = 'cancelled' WHERE campaign_id = $1 AND status IN ('pending', 'queued')`],
  ])('a campaign %s while a pass runs gets nothing queued by that pass', async (next, release) => {
    const c = env.container();
    const { feeder, queue, close } = await idleFeeder(`pause-race-${next}`);
    const control = new Client({ connectionString: env.config.DATABASE_URL });
    await control.connect();
    try {
      const { campaignId } = await seedCampaign(c.pg, { recipients: 50 });
      await startCampaign(c, campaignId);

      // The status change, as campaign-control makes it: campaign row locked, status changed, queued rows released
      // — held open while the feeder's pass starts, then committed.
      await control.query('BEGIN');
      await control.query(`SELECT id FROM campaigns WHERE id = $1 FOR UPDATE`, [campaignId]);
      await control.query(`UPDATE campaigns SET status = $2::"CampaignStatus" WHERE id = $1`, [campaignId, next]);
      await control.query(`UPDATE campaign_runs SET status = $2::"RunStatus" WHERE campaign_id = $1`, [campaignId, next === 'paused' ? 'paused' : 'cancelled']);
      await control.query(release, [campaignId]);
      const pass = feeder.tick();
      await new Promise((r) => setTimeout(r, 300));
      await control.query('COMMIT');

      expect(await pass).toBe(0);
      expect((await statusCounts(c.pg, campaignId)).queued ?? 0).toBe(0);
      expect(await queue.count()).toBe(0);
    } finally {
      await control.query('ROLLBACK').catch(() => undefined);
      await control.end();
      await close();
    }
  });
});

describe('outcome writer racing a cancel', () => {
  it('a message released while the campaign is cancelled ends cancelled', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 3 });
    await startCampaign(c, campaignId);
    const [first] = await c.pg.query<{ id: string }>(`SELECT min(id)::text AS id FROM messages WHERE campaign_id = $1`, [campaignId]).then((r) => r.rows);
    await c.pg.query(`UPDATE messages SET status = 'queued' WHERE id = $1`, [first!.id]);
    const [{ id, attempts, claimedAt }] = (await claimMessages(c.pg, [first!.id])) as [ClaimedMessage];
    const control = new Client({ connectionString: env.config.DATABASE_URL });
    await control.connect();
    try {
      // The cancel as campaign-control makes it, held open while the writer releases the claimed message.
      await control.query('BEGIN');
      await control.query(`SELECT id FROM campaigns WHERE id = $1 FOR UPDATE`, [campaignId]);
      await control.query(`UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, [campaignId]);
      await control.query(`UPDATE messages SET status = 'cancelled' WHERE campaign_id = $1 AND status IN ('pending', 'queued')`, [campaignId]);
      const released = writeOutcomes(c.pg, [{ id, attempts, claimedAt, status: 'release', attemptsDelta: -1 }]);
      await new Promise((r) => setTimeout(r, 300));
      await control.query('COMMIT');
      expect(await released).toBe(1);
    } finally {
      await control.query('ROLLBACK').catch(() => undefined);
      await control.end();
    }
    expect(await statusCounts(c.pg, campaignId)).toEqual({ cancelled: 3 });
  });
});

describe('outcome writer after a cancel or a new claim', () => {
  /** A started campaign's first message, claimed (in flight). */
  async function inFlight(recipients: number): Promise<{ campaignId: string; claim: ClaimedMessage }> {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients });
    await startCampaign(c, campaignId);
    const { rows } = await c.pg.query<{ id: string }>(`SELECT min(id)::text AS id FROM messages WHERE campaign_id = $1`, [campaignId]);
    await c.pg.query(`UPDATE messages SET status = 'queued' WHERE id = $1`, [rows[0]!.id]);
    const [claim] = await claimMessages(c.pg, [rows[0]!.id]);
    return { campaignId, claim: claim! };
  }

  it('a retryable answer arriving after a cancel ends cancelled, not pending under a cancelled campaign', async () => {
    const c = env.container();
    const { campaignId, claim } = await inFlight(3);
    await cancelCampaign(c, campaignId);
    const retryLater = { id: claim.id, attempts: claim.attempts, claimedAt: claim.claimedAt, status: 'pending' as const, delayMs: 500, attemptsDelta: -1 };
    expect(await writeOutcomes(c.pg, [retryLater])).toBe(1);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ cancelled: 3 });
  });

  it('an outcome written again after its commit’s answer was lost does not land on the next claim of the message', async () => {
    const c = env.container();
    const { claim } = await inFlight(1);
    const released = { id: claim.id, attempts: claim.attempts, claimedAt: claim.claimedAt, status: 'release' as const, attemptsDelta: -1 };
    expect(await writeOutcomes(c.pg, [released])).toBe(1); // committed; say its answer never arrived
    // Fed and claimed again meanwhile: the attempt was given back, so the new claim has the same attempt number.
    await c.pg.query(`UPDATE messages SET status = 'queued' WHERE id = $1`, [claim.id]);
    const [again] = await claimMessages(c.pg, [claim.id]);
    expect(again!.attempts).toBe(claim.attempts);
    // The writer's retry of the same row: must not release the request now in flight.
    expect(await writeOutcomes(c.pg, [released])).toBe(0);
    const { rows } = await c.pg.query(`SELECT status::text AS status FROM messages WHERE id = $1`, [claim.id]);
    expect(rows[0]).toEqual({ status: 'sending' });
  });

  // Within the test's 5 s: not after the ~50 s of retries a connection problem gets.
  it('a row PostgreSQL refuses fails alone, at once; the other outcomes of its batch are written', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 3 });
    await startCampaign(c, campaignId);
    const { rows } = await c.pg.query<{ id: string }>(`SELECT id::text AS id FROM messages WHERE campaign_id = $1 ORDER BY id`, [campaignId]);
    await c.pg.query(`UPDATE messages SET status = 'queued' WHERE campaign_id = $1`, [campaignId]);
    const claims = await claimMessages(c.pg, rows.map((r) => r.id));
    const errors: unknown[] = [];
    const writer = new OutcomeWriter(c.pg, { onError: (err) => errors.push(err) });
    const results = await Promise.allSettled(
      claims.map((m, i) =>
        writer.write({ id: m.id, attempts: m.attempts, claimedAt: m.claimedAt, status: 'sent', sessionId: `S${i}`, outcomeClass: i === 1 ? 'no-such-class' : 'accepted' }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 2, sending: 1 });
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe('the engine’s campaign locks never stall other campaigns or deadlock', () => {
  async function started(recipients: number): Promise<{ campaignId: string; runId: string; ids: string[] }> {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients });
    const { runId } = await startCampaign(c, campaignId);
    const { rows } = await c.pg.query<{ id: string }>(`SELECT id::text AS id FROM messages WHERE run_id = $1 ORDER BY id`, [runId]);
    return { campaignId, runId, ids: rows.map((r) => r.id) };
  }
  async function claim(ids: string[]): Promise<ClaimedMessage[]> {
    await env.container().pg.query(`UPDATE messages SET status = 'queued' WHERE id = ANY($1::bigint[])`, [ids]);
    return claimMessages(env.container().pg, ids);
  }

  it('a feeding pass does not wait for a campaign a control change holds; the others are fed', async () => {
    const c = env.container();
    await c.pg.query(`UPDATE campaigns SET status = 'completed' WHERE status = 'running'`); // earlier tests'
    const { feeder, close } = await idleFeeder('held');
    const control = new Client({ connectionString: env.config.DATABASE_URL });
    await control.connect();
    try {
      const busy = await started(10); // fed first (oldest run)
      const other = await started(10);
      await control.query('BEGIN');
      await control.query(`SELECT id FROM campaigns WHERE id = $1 FOR UPDATE`, [busy.campaignId]); // a long cancel, say
      await feeder.tick(); // returns while the lock is still held
      expect((await statusCounts(c.pg, other.campaignId)).queued ?? 0).toBeGreaterThan(0);
      expect((await statusCounts(c.pg, busy.campaignId)).queued ?? 0).toBe(0);
    } finally {
      await control.query('ROLLBACK').catch(() => undefined);
      await control.end();
      await close();
    }
  });

  it('run completion and an outcome batch touching two campaigns do not deadlock', async () => {
    const c = env.container();
    let a = await started(3000);
    let b = await started(3000);
    await c.pg.query('ANALYZE messages');
    if (a.campaignId > b.campaignId) [a, b] = [b, a]; // completion locks a, then b
    const [mA, mX] = await claim(a.ids.slice(0, 2));
    const [mB] = await claim(b.ids.slice(0, 1));
    // Everything else went out: both runs are drained, only the three claimed messages are in flight.
    await c.pg.query(`UPDATE messages SET status = 'sent' WHERE status = 'pending'`);
    const blocker = new Client({ connectionString: env.config.DATABASE_URL });
    await blocker.connect();
    try {
      // Holds mX for a moment: the writer's statement stops between rows, holding b's campaign row FOR SHARE.
      await blocker.query('BEGIN');
      await blocker.query(`SELECT 1 FROM messages WHERE id = $1 FOR UPDATE`, [mX!.id]);
      const retryLater = (m: ClaimedMessage) => ({ id: m.id, attempts: m.attempts, claimedAt: m.claimedAt, status: 'pending' as const, delayMs: 500, attemptsDelta: -1 });
      const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => `error ${e.code}`);
      const writer = outcome(
        writeOutcomes(c.pg, [retryLater(mB!), { id: mX!.id, attempts: mX!.attempts, claimedAt: mX!.claimedAt, status: 'sent', sessionId: 'S1' }, retryLater(mA!)]),
      );
      await new Promise((r) => setTimeout(r, 200));
      const completion = outcome(completeFinishedRuns(c.pg, [a.runId, b.runId]));
      await new Promise((r) => setTimeout(r, 200));
      await blocker.query('COMMIT'); // the writer goes on to a's campaign row
      expect({ writer: await writer, completion: await completion }).toEqual({ writer: 'ok', completion: 'ok' });
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
  });
});

describe('outcome writer after crash recovery called the message unknown', () => {
  /** A started campaign's first message, claimed, then past its lease: recovery made it `unknown`. */
  async function expired(): Promise<{ campaignId: string; claim: ClaimedMessage }> {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 1 });
    await startCampaign(c, campaignId);
    const { rows } = await c.pg.query<{ id: string }>(`SELECT min(id)::text AS id FROM messages WHERE campaign_id = $1`, [campaignId]);
    await c.pg.query(`UPDATE messages SET status = 'queued' WHERE id = $1`, [rows[0]!.id]);
    const [claim] = await claimMessages(c.pg, [rows[0]!.id]);
    await new Promise((r) => setTimeout(r, 20));
    expect(await expireStaleSending(c.pg, 10)).toBe(1);
    return { campaignId, claim: claim! };
  }
  const messageRow = async (id: string) =>
    (await env.container().pg.query(`SELECT status::text AS status, session_id, outcome_class::text AS outcome_class, attempts FROM messages WHERE id = $1`, [id])).rows[0];

  it('the late answer "sent" turns it sent with its session id, so its delivery report can be matched', async () => {
    const { claim } = await expired();
    const sent = { id: claim.id, attempts: claim.attempts, claimedAt: claim.claimedAt, status: 'sent' as const, sessionId: 'late-session-1', outcomeClass: 'accepted' };
    expect(await writeOutcomes(env.container().pg, [sent])).toBe(1);
    expect(await messageRow(claim.id)).toEqual({ status: 'sent', session_id: 'late-session-1', outcome_class: 'accepted', attempts: 1 });
  });

  // The slow worker finds the claim past its send deadline (release), or the provider answers "certainly not
  // sent": the message was never sent. Left unknown, only `retry --include-unknown` could recover it — together
  // with every message that may have gone out (a duplicate each).
  it.each([
    ['handed back unsent', { status: 'release' as const, attemptsDelta: -1 }],
    ['answered retryable', { status: 'pending' as const, delayMs: 100, attemptsDelta: 0, outcomeClass: 'retryable', providerText: 'connection refused' }],
  ])('a claim %s late turns it failed (retryable): never sent again automatically, sent by a plain campaign retry', async (_what, outcome) => {
    const c = env.container();
    const { campaignId, claim } = await expired();
    expect(await writeOutcomes(c.pg, [{ id: claim.id, attempts: claim.attempts, claimedAt: claim.claimedAt, ...outcome }])).toBe(1);
    expect(await messageRow(claim.id)).toMatchObject({ status: 'failed', outcome_class: 'retryable', session_id: null });
    expect(await retryCampaign(c, campaignId)).toMatchObject({ requeued: 1 });
    expect(await messageRow(claim.id)).toMatchObject({ status: 'pending' });
  });

  it('once retried (a new claim), the old claim’s late answer no longer applies', async () => {
    const c = env.container();
    const { claim } = await expired();
    await new Promise((r) => setTimeout(r, 5));
    await c.pg.query(`UPDATE messages SET status = 'queued' WHERE id = $1`, [claim.id]);
    const [again] = await claimMessages(c.pg, [claim.id]);
    expect(again!.attempts).toBe(claim.attempts + 1);
    const sent = { id: claim.id, attempts: claim.attempts, claimedAt: claim.claimedAt, status: 'sent' as const, sessionId: 'old-claim' };
    expect(await writeOutcomes(c.pg, [sent])).toBe(0);
    expect(await messageRow(claim.id)).toMatchObject({ status: 'sending', session_id: null });
  });
});
